/**
 * Fields whose resolution costs far more than a column read: provenance
 * exports (lineage walk, organizations, certification, serialisation),
 * lineage-derived views and whole-log verification. One table used twice:
 * - the GraphQL cost limit adds each field's weight (graphql/limits.ts), so a
 *   request cannot stack many of them behind aliases;
 * - the per-client points budget counts each occurrence as one point
 *   (operation-points.ts), like every mutation.
 * Keyed by schema coordinate (`Type.field`).
 */
export const EXPENSIVE_FIELD_WEIGHTS: ReadonlyMap<string, number> = new Map([
  ['TeacherModel.cycloneDx', 150],
  ['TeacherModel.huggingFaceCardYaml', 150],
  ['TeacherModel.obligations', 50],
  ['TeacherModel.lineage', 50],
  ['TeacherModel.royaltyStack', 50],
  ['TeacherModel.descendants', 100],
  ['Query.verifyModel', 50],
  ['Query.verifyAuditLog', 1000],
]);

export function expensiveFieldWeight(typeName: string, fieldName: string): number | undefined {
  return EXPENSIVE_FIELD_WEIGHTS.get(`${typeName}.${fieldName}`);
}
