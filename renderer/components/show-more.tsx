/**
 * The foot of a list read a page at a time (newest first): how many rows are shown and the button
 * that asks the store for the next page. The caller renders it only while the store names a next
 * page, so it is gone when there is no more. While a page loads the button stays focusable
 * (aria-disabled, not disabled: a disabled button drops the focus), so a keyboard user who pressed
 * it keeps their place and presses it again for the page after.
 */
export function ShowMore({ shown, loading, onMore }: { shown: number; loading: boolean; onMore: () => void }) {
  return (
    <div className="panel-body row" style={{ borderTop: '1px solid var(--border-muted)', justifyContent: 'space-between' }}>
      <span className="muted" style={{ fontSize: 12 }}>
        {shown.toLocaleString('en-US')} newest shown
      </span>
      <button
        type="button"
        className="btn small"
        aria-disabled={loading ? 'true' : undefined}
        onClick={() => {
          if (!loading) onMore();
        }}
      >
        {loading ? 'Loading…' : 'Show more'}
      </button>
    </div>
  );
}
