/**
 * HTML for the public model pages. Every value comes from users (model names,
 * licence texts, organization names), so everything interpolated goes through
 * `esc`; the pages load nothing from elsewhere (no scripts, inline styles only).
 */
import type { LicencePage, PageModel, VerificationPage } from './model-pages.service';

export function esc(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a}
table{border-collapse:collapse;margin:.5rem 0 1.5rem}td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}
code,pre{font:14px ui-monospace,monospace;overflow-wrap:anywhere}pre{white-space:pre-wrap;background:#f6f6f6;padding:.75rem}</style>
</head><body><main>
${body}
</main></body></html>
`;
}

/** Nested canonical terms as `path → value` rows (lists joined), in their canonical order. */
export function termRows(value: unknown, prefix = ''): Array<[string, string]> {
  if (value === null || value === undefined) return [[prefix, '—']];
  if (Array.isArray(value)) {
    if (value.every((v) => typeof v !== 'object' || v === null)) return [[prefix, value.length ? value.join(', ') : '—']];
    return value.flatMap((v, i) => termRows(v, `${prefix}[${i + 1}]`));
  }
  if (typeof value === 'object') {
    return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => termRows(v, prefix ? `${prefix}.${k}` : k));
  }
  return [[prefix, String(value)]];
}

const table = (value: unknown): string =>
  `<table><tbody>${termRows(value)
    .map(([k, v]) => `<tr><th scope="row"><code>${esc(k)}</code></th><td>${esc(v)}</td></tr>`)
    .join('')}</tbody></table>`;

function modelHeader(m: PageModel): string {
  return `<p>${esc(m.organization.name)} · <code>${esc(m.slug)}</code> · model id <code>${esc(m.id)}</code></p>
${m.summary ? `<p>${esc(m.summary)}</p>` : ''}
<ul>
<li>Weights: ${m.weightsDigest ? `<code>${esc(m.weightsDigest)}</code>` : 'not declared'}</li>
<li>Certification: ${esc(m.certification)}</li>
</ul>`;
}

const links = (m: PageModel): string =>
  `<p><a href="${esc(m.links.model)}">Model</a> · <a href="${esc(m.links.licence)}">Licence</a> · <a href="${esc(m.links.verification)}">Verification</a> · <a href="${esc(m.links.keys)}">Attestation keys</a></p>`;

export function modelHtml(m: PageModel): string {
  return page(m.name, `<h1>${esc(m.name)}</h1>\n${modelHeader(m)}\n${links(m)}`);
}

export function licenceHtml(l: LicencePage): string {
  const offers = l.offers.length
    ? l.offers
        .map(
          (o) => `<section><h3>${esc(o.name)}, version ${esc(o.version)}</h3>
<p>Terms hash <code>${esc(o.termsHash)}</code> (SHA-256 of the RFC 8785 JSON of the canonical terms and pricing)</p>
<h4>Terms</h4>${table(o.terms)}<h4>Pricing</h4>${table(o.pricing)}</section>`,
        )
        .join('\n')
    : '<p>No licence offer is open for this model.</p>';
  const inherited = l.inherited.length
    ? l.inherited
        .map(
          (e) => `<section><h3>From ${esc(e.parentName)}</h3>
<p>Parent <code>${esc(e.parentModelId)}</code> of <code>${esc(e.childModelId)}</code>, agreement <code>${esc(e.agreementId)}</code>, terms hash <code>${esc(e.termsHash)}</code></p>
${table(e.terms)}</section>`,
        )
        .join('\n')
    : '<p>This model declares no licensed lineage.</p>';
  const body = `<h1>Licence of ${esc(l.model.name)}</h1>
<p>Licence name <code>${esc(l.licenceName)}</code></p>
${modelHeader(l.model)}
${links(l.model)}
<h2>Offers</h2>
${offers}
<h2>Licences it is bound by</h2>
${inherited}
<h2>Attribution</h2>
${l.attributions.length ? `<ul>${l.attributions.map((a) => `<li>${esc(a)}</li>`).join('')}</ul>` : '<p>None required.</p>'}
${l.notice ? `<h2>NOTICE</h2><pre>${esc(l.notice)}</pre>` : ''}`;
  return page(`Licence of ${l.model.name}`, body);
}

export function verificationHtml(v: VerificationPage): string {
  const body = `<h1>Verification of <code>${esc(v.weightsDigest)}</code></h1>
<p>These weights are registered as <a href="${esc(v.model.links.model)}">${esc(v.model.name)}</a>.</p>
${modelHeader(v.model)}
${links(v.model)}
<h2>Lineage</h2>
<p>Distillation generation ${esc(v.distillationGeneration)}.</p>
${v.ancestors.length ? `<ul>${v.ancestors.map((a) => `<li>${esc(a.name)} (<code>${esc(a.id)}</code>, depth ${esc(a.depth)})</li>`).join('')}</ul>` : '<p>No ancestors.</p>'}
<h2>Latest attestation</h2>
${
  v.latestAttestation
    ? `<p>Key <code>${esc(v.latestAttestation.keyId)}</code>, issued ${esc(v.latestAttestation.issuedAt)}. Save the document below as <code>attestation.json</code> and verify it offline with <code>npm run verify-attestation -- attestation.json keys.json</code>.</p><pre>${esc(JSON.stringify(v.latestAttestation.document, null, 2))}</pre>`
    : '<p>None issued yet.</p>'
}`;
  return page(`Verification of ${v.model.name}`, body);
}

export function notFoundHtml(what: string): string {
  return page('Not found', `<h1>Not found</h1><p>${esc(what)}</p>`);
}
