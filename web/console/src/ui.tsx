/** Shared pieces: errors as the API states them, loading and empty states, tables, downloads. */
import { cloneElement, useEffect, useId, useRef, type ReactElement, type ReactNode } from 'react';
import type { CombinedError } from 'urql';

export interface ApiProblem {
  message: string;
  code: string;
  /** A machine-readable reason some refusals carry (extensions.reason, e.g. FOUR_EYES). */
  reason?: string;
}

/** Every error of a result, as the API stated it: message and extensions.code (or a business error's code). */
export function problems(error: CombinedError | undefined | null): ApiProblem[] {
  if (!error) return [];
  const out: ApiProblem[] = error.graphQLErrors.map((e) => {
    const ext = e.extensions as { code?: unknown; reason?: unknown } | undefined;
    return { message: e.message, code: String(ext?.code ?? 'ERROR'), ...(typeof ext?.reason === 'string' ? { reason: ext.reason } : {}) };
  });
  if (error.networkError) out.push({ message: error.networkError.message, code: 'NETWORK_ERROR' });
  return out;
}

/** An error box; NOT_FOUND gets the "Not found" heading a stranger's link deserves. */
export function ApiError({ error, problem }: { error?: CombinedError | null; problem?: ApiProblem | null }) {
  const list = problem ? [problem] : problems(error);
  if (list.length === 0) return null;
  const notFound = list.some((p) => p.code === 'NOT_FOUND');
  return (
    <div role="alert" className="error">
      <strong>{notFound ? 'Not found' : 'The request failed'}</strong>
      <ul>
        {list.map((p, i) => (
          <li key={i}>
            {p.message} <code className="code">{p.code}</code>
            {p.reason ? (
              <>
                {' '}
                <code className="code">{p.reason}</code>
              </>
            ) : null}
          </li>
        ))}
      </ul>
    </div>
  );
}

/** A business error returned as a union member ({__typename, code, message}). */
export function businessProblem(result: { __typename?: string; code?: string; message?: string } | null | undefined): ApiProblem | null {
  if (!result || typeof result.code !== 'string') return null;
  return { code: result.code, message: result.message ?? result.__typename ?? 'Refused' };
}

export function Loading({ what }: { what: string }) {
  return (
    <p className="loading" role="status" aria-live="polite">
      Loading {what}…
    </p>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="empty">{children}</p>;
}

// The first page of a visit leaves the focus at the top of the document (the skip link comes first).
let pageShown = false;

/** A page: its heading takes the focus when the user moves to it, so keyboard and screen-reader users land on it. */
export function Page({ title, children, actions }: { title: string; children: ReactNode; actions?: ReactNode }) {
  const h = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${title} · Beiming console`;
    if (pageShown) h.current?.focus();
    pageShown = true;
  }, [title]);
  return (
    <section aria-labelledby="page-title">
      <div className="page-head">
        <h1 id="page-title" tabIndex={-1} ref={h}>
          {title}
        </h1>
        {actions}
      </div>
      {children}
    </section>
  );
}

export function Table({ caption, head, rows, empty }: { caption: string; head: ReactNode[]; rows: ReactNode[][]; empty: string }) {
  if (rows.length === 0) return <Empty>{empty}</Empty>;
  return (
    <div className="table-wrap">
      <table>
        <caption>{caption}</caption>
        <thead>
          <tr>
            {head.map((h, i) => (
              <th key={i} scope="col">
                {h}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((r, i) => (
            <tr key={i}>
              {r.map((c, j) => (
                <td key={j}>{c}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** A labelled control: the label names it (for=id) and the hint describes it (aria-describedby). */
/** Label–value pairs as a definition list (one entry per label). */
export function Facts({ rows }: { rows: [string, ReactNode][] }) {
  return (
    <dl className="terms">
      {rows.map(([k, v]) => (
        <div key={k}>
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  );
}

/** Newer / Older buttons of a cursor-paged list (each shown only when there is such a page). */
export function Pager({ onNewer, onOlder }: { onNewer: (() => void) | null; onOlder: (() => void) | null }) {
  return (
    <div className="controls">
      {onNewer ? (
        <button type="button" onClick={onNewer}>
          Newer
        </button>
      ) : null}
      {onOlder ? (
        <button type="button" onClick={onOlder}>
          Older
        </button>
      ) : null}
    </div>
  );
}

export function Field({ label, children, hint }: { label: string; children: ReactElement<{ id?: string; 'aria-describedby'?: string }>; hint?: string }) {
  const id = useId();
  const control = cloneElement(children, { id, 'aria-describedby': hint ? `${id}-hint` : undefined });
  return (
    <div className="field">
      <label className="label" htmlFor={id}>
        {label}
      </label>
      {control}
      {hint ? (
        <span className="hint" id={`${id}-hint`}>
          {hint}
        </span>
      ) : null}
    </div>
  );
}

export const when = (iso: string | null | undefined): string => (iso ? new Date(iso).toISOString().replace('T', ' ').slice(0, 16) + ' UTC' : '—');

/** Saves text as a file (an object URL on an anchor with `download`). */
export function saveFile(name: string, text: string, type = 'application/json'): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** The given month and those before it, `count` in all, newest first: "YYYY-MM". */
export function recentMonths(count: number, from = new Date()): string[] {
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const d = new Date(Date.UTC(from.getUTCFullYear(), from.getUTCMonth() - i, 1));
    out.push(`${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, '0')}`);
  }
  return out;
}
