/**
 * Secrets never pass through the gateway: upstream error bodies, streamed
 * events and answers can quote the request (some servers echo the
 * Authorization header in their errors). Every configured secret is replaced,
 * in the spellings it can take inside JSON or a URL.
 */
export const REDACTED = '[REDACTED]';

export type Redactor = (text: string) => string;

export function secretRedactor(secrets: readonly string[]): Redactor {
  const variants = new Set<string>();
  for (const s of secrets) {
    if (s === '') continue;
    variants.add(s);
    variants.add(JSON.stringify(s).slice(1, -1));
    variants.add(encodeURIComponent(s));
  }
  // Longest first, so "Bearer <key>" goes whole before "<key>" alone.
  const ordered = [...variants].sort((a, b) => b.length - a.length);
  return (text) => {
    let out = text;
    for (const v of ordered) if (out.includes(v)) out = out.split(v).join(REDACTED);
    return out;
  };
}
