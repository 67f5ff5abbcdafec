import type { AppError } from '../../shared/errors';

/**
 * Errors are data: code, message and each field path, never a stack or a bare "failed".
 * Field errors the form already shows next to their inputs (`shownInline`) are not repeated.
 */
export function ErrorNotice({
  error,
  title,
  shownInline = [],
  showingCopy = false,
}: {
  error: AppError | null | undefined;
  title?: string;
  shownInline?: readonly string[];
  /** The screen still shows data fetched earlier (the offline copy). */
  showingCopy?: boolean;
}) {
  if (!error) return null;
  // Offline with a copy on screen: the offline banner already says why, in red, once. Here it is
  // enough to say what the screen shows; a second red alert would read as a second failure.
  if (showingCopy && error.code === 'store_unreachable') {
    return (
      <div className="notice info" aria-label="showing a copy">
        Offline: this is the copy fetched earlier. It refreshes by itself when the store is back.
      </div>
    );
  }
  const remaining = (error.fieldErrors ?? []).filter((f) => !shownInline.includes(f.path));
  const allInline = error.code === 'invalid_input' && (error.fieldErrors?.length ?? 0) > 0 && remaining.length === 0;
  return (
    <div className="notice error" role="alert" aria-label="error">
      {title ? <strong>{title}: </strong> : null}
      <span className="code">{error.code}</span>
      <span>{allInline ? 'check the highlighted fields.' : error.message}</span>
      {!allInline && remaining.length ? (
        <ul>
          {remaining.map((f) => (
            <li key={f.path + f.message}>
              <code>{f.path || '(input)'}</code>: {f.message}
            </li>
          ))}
        </ul>
      ) : null}
      {error.currentState ? <div className="muted">Current state: {error.currentState}</div> : null}
    </div>
  );
}

/** The message for one field, if the error names it. */
export function fieldError(error: AppError | null | undefined, path: string): string | undefined {
  return error?.fieldErrors?.find((f) => f.path === path)?.message;
}
