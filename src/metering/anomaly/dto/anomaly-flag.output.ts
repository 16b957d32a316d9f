import { Field, ID, Int, ObjectType } from '@nestjs/graphql';
import GraphQLJSON from '../../../platform/graphql/json.scalar';
import { Paginated } from '../../../platform/graphql/pagination';
import { AnomalyKind } from '../anomaly-flag.kinds';

@ObjectType('AnomalyFlag', { description: "Unusual usage of an agreement, for its vendor and platform admins (never shown to the distiller)" })
export class AnomalyFlagOutput {
  @Field(() => ID)
  id: string;

  @Field(() => ID)
  agreementId: string;

  @Field(() => ID)
  vendorOrganizationId: string;

  @Field(() => ID)
  distillerOrganizationId: string;

  @Field(() => AnomalyKind)
  kind: AnomalyKind;

  @Field(() => Date, { description: 'The minute (BURST) or hour (other kinds) the signals fell in, UTC' })
  windowStart: Date;

  @Field(() => Int, { description: 'Signals folded into this flag' })
  occurrences: number;

  @Field(() => String, { nullable: true, description: 'Tokens observed in the window (decimal string)' })
  observedTokens: string | null;

  @Field(() => String, { nullable: true, description: 'BURST: the per-minute average of the previous 24 hours (decimal string)' })
  baselineTokens: string | null;

  @Field(() => GraphQLJSON)
  detail: Record<string, unknown>;

  @Field(() => Date)
  createdAt: Date;

  @Field(() => Date)
  updatedAt: Date;

  @Field(() => Date, { nullable: true })
  acknowledgedAt: Date | null;

  @Field(() => ID, { nullable: true, description: 'The user who acknowledged it (null for an API key)' })
  acknowledgedBy: string | null;

  @Field(() => String, { nullable: true })
  acknowledgementNote: string | null;
}

@ObjectType('AnomalyFlagConnection', { description: 'Newest first (by createdAt)' })
export class AnomalyFlagConnection extends Paginated(AnomalyFlagOutput, 'AnomalyFlag') {}
