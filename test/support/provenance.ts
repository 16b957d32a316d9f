/**
 * Provenance test steps through the public API: a listed teacher with an
 * offer (royalty terms chosen by the test), an accepted agreement on it, and
 * student registration.
 */
import { createHash } from 'node:crypto';
import type { TestApp } from './app';
import { createModel, publishOk } from './licensing';
import { acceptAgreement } from './metering';
import type { TestUser } from './users';

let digestCounter = 0;
/** A fresh, valid weights digest. */
export const digest = (label = `weights-${++digestCounter}-${Date.now()}-${Math.random()}`): string =>
  `sha256:${createHash('sha256').update(label).digest('hex')}`;

export interface ListedTeacher {
  modelId: string;
  offer: { id: string; termsHash: string };
}

/** A listed model of `vendor` with an ACTIVE offer whose royalty and other terms the test chooses. */
export async function listedTeacher(
  t: TestApp,
  vendor: TestUser,
  opts: { royalty?: { policy: 'LAP' | 'LRP'; shareBps: number }; terms?: Record<string, unknown> } = {},
): Promise<ListedTeacher> {
  const { id: modelId } = await createModel(t, vendor);
  const offer = await publishOk(t, vendor, modelId, { terms: { royalty: opts.royalty ?? { policy: 'LAP', shareBps: 500 }, ...opts.terms } });
  return { modelId, offer };
}

/** Lists an existing model (e.g. a registered student) and publishes an offer on it. */
export async function listWithOffer(
  t: TestApp,
  owner: TestUser,
  modelId: string,
  royalty: { policy: 'LAP' | 'LRP'; shareBps: number },
  terms: Record<string, unknown> = {},
): Promise<{ id: string; termsHash: string }> {
  const l = await t.gql(`mutation($id: ID!) { listTeacherModel(id: $id) { __typename } }`, { id: modelId }, owner.token);
  if (l.errors) throw new Error(`listTeacherModel: ${JSON.stringify(l.errors)}`);
  return publishOk(t, owner, modelId, { terms: { royalty, ...terms } });
}

export const REGISTER = `mutation($i: RegisterStudentModelInput!) { registerStudentModel(input: $i) {
  __typename
  ... on BusinessError { code message }
  ... on TeacherModel { id name status weightsDigest commercialUse }
  ... on LicenceMissingError { edges { parentModelId agreementId reason status } }
  ... on LicenceViolationError { violations { parentModelId agreementId rule message } }
  ... on LineageCycleError { parentModelId }
  ... on TooManyParentsError { parents max }
  ... on TooManyAncestorsError { ancestors max }
  ... on RoyaltyStackTooHighError { totalBps capBps stack { totalBps entries { modelId shareBps } } }
  ... on WeightsDigestTakenError { digest }
} }`;

let slugCounter = 0;
export function studentInput(
  organizationId: string,
  lineage: Array<{ parentModelId: string; agreementId: string; relation?: string; method?: string | null; dataShareBps?: number }>,
  over: Record<string, unknown> = {},
): Record<string, unknown> {
  slugCounter += 1;
  return {
    organizationId,
    slug: `student-${slugCounter}`,
    name: `Student ${slugCounter}`,
    card: { summary: 'A distilled student.', modalities: ['TEXT'] },
    weightsDigest: digest(),
    lineage: lineage.map((e) => ({ relation: 'DISTILLED', method: e.relation && e.relation !== 'DISTILLED' ? null : 'LOGITS', ...e })),
    ...over,
  };
}

/** Registers a student; fails the test unless it is registered. */
export async function registerStudent(
  t: TestApp,
  owner: TestUser,
  lineage: Array<{ parentModelId: string; agreementId: string; relation?: string; method?: string | null }>,
  over: Record<string, unknown> = {},
): Promise<{ id: string; name: string }> {
  const r = await t.gql(REGISTER, { i: studentInput(owner.organizationId, lineage, over) }, owner.token);
  if (r.errors || r.data?.registerStudentModel.__typename !== 'TeacherModel') throw new Error(`registerStudentModel: ${JSON.stringify(r.errors ?? r.data)}`);
  return r.data.registerStudentModel;
}

/** A distiller's ACTIVE agreement on a listed teacher. */
export async function licensed(t: TestApp, distiller: TestUser, teacher: ListedTeacher): Promise<{ parentModelId: string; agreementId: string }> {
  return { parentModelId: teacher.modelId, agreementId: await acceptAgreement(t, distiller, teacher.offer) };
}
