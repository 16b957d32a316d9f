/**
 * A model's provenance (lineage, royalty stack, obligations, certification,
 * organization names) and the exports rendered from it (CycloneDX, Hugging
 * Face card), computed once per content version and shared by every request.
 *
 * The version is a fingerprint of everything the exports read — the model and
 * its ancestors (names, slugs, cards, digests, organizations' names), the
 * lineage edges and the latest certification with its expiry — computed by
 * PostgreSQL in one query (one per request for all models asked about), so a
 * change committed by any replica is seen by the next request. Exports are
 * public and read anonymously: without this, each alias of an export redid
 * four to six queries and the serialisation.
 */
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { CatalogService } from '../../catalog/catalog.service';
import { TeacherModelOutput } from '../../catalog/dto/model.output';
import { SingleFlight } from '../../catalog/single-flight';
import { OrganizationService } from '../../identity/organization.service';
import { AppConfig } from '../../platform/config/app-config';
import { Database } from '../../platform/database/transaction';
import { LoaderContext, loaderFor } from '../../platform/graphql/loaders';
import { CertificationService } from '../certification/certification.service';
import { LineageLoader, lineageInRequest, rootOf } from '../lineage/lineage.loader';
import { Obligations, obligations } from '../lineage/obligations';
import { royaltyStack } from '../lineage/royalty-stack';
import { ProvenanceExportInput } from './huggingface-card';
import { ProvenanceSnapshotsRepository } from './provenance-snapshots.repository';
import { Clock } from '../../platform/clock/clock';

export interface ProvenanceSnapshot {
  readonly fingerprint: string;
  readonly input: ProvenanceExportInput;
  readonly obligations: Obligations;
  /** Rendered exports by kind (filled on first use). */
  readonly rendered: Map<string, unknown>;
}

/** Snapshots kept (one per model; the least recently used goes first). */
const MAX_SNAPSHOTS = 1000;

@Injectable()
export class ProvenanceSnapshots {
  private readonly snapshots = new Map<string, ProvenanceSnapshot>();
  private readonly builds = new SingleFlight<ProvenanceSnapshot>();
  /** Snapshots built since start (a repeated request builds none; tests read it). */
  buildCount = 0;

  constructor(
    private readonly config: AppConfig,
    private readonly db: Database,
    private readonly lineage: LineageLoader,
    private readonly catalog: CatalogService,
    private readonly organizations: OrganizationService,
    private readonly certifications: CertificationService,
    private readonly fingerprints: ProvenanceSnapshotsRepository,
    private readonly clock: Clock,
  ) {}

  async of(ctx: LoaderContext, model: TeacherModelOutput): Promise<ProvenanceSnapshot> {
    const fingerprint = await this.fingerprintInRequest(ctx, model.id);
    const cached = this.snapshots.get(model.id);
    if (cached && cached.fingerprint === fingerprint) {
      this.snapshots.delete(model.id); // most recently used last
      this.snapshots.set(model.id, cached);
      return cached;
    }
    // Aliases of one request and concurrent requests share one build per version.
    return this.builds.run(`${model.id}:${fingerprint}`, async () => {
      const snapshot = await this.build(ctx, model, fingerprint ?? '');
      if (fingerprint !== null) this.remember(model.id, snapshot);
      return snapshot;
    });
  }

  /** The export `kind` rendered from the snapshot, once per version. */
  render<T>(snapshot: ProvenanceSnapshot, kind: string, render: (input: ProvenanceExportInput) => T): T {
    if (!snapshot.rendered.has(kind)) snapshot.rendered.set(kind, render(snapshot.input));
    return snapshot.rendered.get(kind) as T;
  }

  private fingerprintInRequest(ctx: LoaderContext, modelId: string): Promise<string | null> {
    return loaderFor<string, string | null>(ctx, 'provenance.fingerprint', async (ids) => {
      const rows = await this.fingerprints.fingerprintsOf(this.db.reader, ids, this.clock.now());
      const byId = new Map(rows.map((r) => [r.model_id, r.fingerprint]));
      return ids.map((id) => byId.get(id) ?? null);
    }).load(modelId);
  }

  private remember(modelId: string, snapshot: ProvenanceSnapshot): void {
    this.snapshots.delete(modelId);
    if (this.snapshots.size >= MAX_SNAPSHOTS) this.snapshots.delete(this.snapshots.keys().next().value as string);
    this.snapshots.set(modelId, snapshot);
  }

  private async build(ctx: LoaderContext, model: TeacherModelOutput, fingerprint: string): Promise<ProvenanceSnapshot> {
    this.buildCount += 1;
    const em: EntityManager = this.db.reader;
    const lineage = await lineageInRequest(ctx, this.lineage, em, rootOf(model));
    const orgIds = [model.organizationId, ...lineage.ancestors.map((a) => a.organizationId)];
    const [orgs, cert, entity] = await Promise.all([
      this.organizations.findByIds(orgIds, em),
      this.certifications.statusOf(em, model.id),
      this.catalog.findModels(em, [model.id]),
    ]);
    const ob = obligations(lineage, { name: model.name, commercialUse: model.commercialUse });
    const input: ProvenanceExportInput = {
      model: {
        id: model.id,
        name: model.name,
        slug: model.slug,
        organizationId: model.organizationId,
        organizationName: orgs.get(model.organizationId)?.name ?? model.organizationId,
        weightsDigest: model.weightsDigest,
        card: entity.get(model.id)!.card,
        commercialUse: model.commercialUse,
      },
      lineage,
      royaltyStack: royaltyStack(lineage),
      obligations: { attributions: ob.attributions.map((a) => ({ displayString: a.displayString })), notice: ob.notice },
      certification: cert.status === 'NONE' ? null : { status: cert.status, certifiedAt: cert.certifiedAt, expiresAt: cert.expiresAt },
      publicBaseUrl: this.config.publicUrl,
      organizationNames: Object.fromEntries([...orgs.values()].map((o) => [o.id, o.name])),
    };
    return { fingerprint, input, obligations: ob, rendered: new Map() };
  }
}
