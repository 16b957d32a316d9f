/** README sections (outside the executed walkthrough) whose GraphQL examples test/readme-sections.e2e-spec.ts validates. */
export const VALIDATED_README_SECTIONS = ['Metering: the gateway and usage reports', 'Provenance: student models, lineage, royalties and attestations', 'Money: invoices, payments, refunds and the ledger'];

/** The text of a `## <heading>` section of a markdown document. */
export function readmeSection(readme: string, heading: string): string {
  const start = readme.indexOf(`\n## ${heading}`);
  if (start < 0) throw new Error(`README has no "## ${heading}" section`);
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end < 0 ? undefined : end);
}
