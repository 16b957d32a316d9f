import { ModelCardInput } from './dto/model.input';
import { Modality, ModelCardOutput, TeacherModelOutput } from './dto/model.output';
import { ModelCard, ModelEntity } from './model.entity';

/** Input → stored card, field by field (never spread an input into persistence). */
export function toModelCard(input: ModelCardInput): ModelCard {
  return {
    summary: input.summary,
    parameterCount: input.parameterCount ?? null,
    modalities: [...input.modalities],
    contextLength: input.contextLength ?? null,
    languages: [...(input.languages ?? [])],
    trainingDataSummary: input.trainingDataSummary ?? null,
    evaluations: (input.evaluations ?? []).map((e) => ({ benchmark: e.benchmark, metric: e.metric, value: e.value })),
    intendedUses: [...(input.intendedUses ?? [])],
    limitations: [...(input.limitations ?? [])],
    baseModels: [...(input.baseModels ?? [])],
  };
}

/** Stored card → API; tolerant of cards written before a field existed. */
export function toModelCardOutput(card: Partial<ModelCard>): ModelCardOutput {
  return {
    summary: card.summary ?? '',
    parameterCount: card.parameterCount ?? null,
    modalities: (card.modalities ?? []) as Modality[],
    contextLength: card.contextLength ?? null,
    languages: card.languages ?? [],
    trainingDataSummary: card.trainingDataSummary ?? null,
    evaluations: (card.evaluations ?? []).map((e) => ({ benchmark: e.benchmark, metric: e.metric, value: e.value })),
    intendedUses: card.intendedUses ?? [],
    limitations: card.limitations ?? [],
    baseModels: card.baseModels ?? [],
  };
}

/** `vendor`: the owning organization (id, name, country). */
export function toTeacherModelOutput(m: ModelEntity, vendor: { id: string; name: string; country: string | null }): TeacherModelOutput {
  return Object.assign(new TeacherModelOutput(), {
    id: m.id,
    slug: m.slug,
    name: m.name,
    status: m.status,
    organizationId: m.organizationId,
    card: toModelCardOutput(m.card),
    parameterCount: m.parameterCount === null ? null : m.parameterCount.toString(),
    modalities: m.modalities as Modality[],
    listedAt: m.listedAt,
    createdAt: m.createdAt,
    updatedAt: m.updatedAt,
    weightsDigest: m.weightsDigest ?? null,
    commercialUse: m.commercialUse ?? true,
    vendor: { id: vendor.id, name: vendor.name, country: vendor.country },
  });
}
