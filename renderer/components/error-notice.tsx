import type { AppError } from '../../shared/errors';

/** Errors are data: code, message and each field path, never a stack or a bare "failed". */
export function ErrorNotice({ error, title }: { error: AppError | null | undefined; title?: string }) {
  if (!error) return null;
  return (
    <div className="notice error" role="alert" aria-label="error">
      {title ? <strong>{title}: </strong> : null}
      <span className="code">{error.code}</span>
      <span>{error.message}</span>
      {error.fieldErrors?.length ? (
        <ul>
          {error.fieldErrors.map((f) => (
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
