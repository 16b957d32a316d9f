import { Field, ID, Int, ObjectType } from '@nestjs/graphql';
import GraphQLJSON from '../../platform/graphql/json.scalar';

@ObjectType('AuditEntry')
export class AuditEntryOutput {
  @Field(() => ID, { description: 'Sequence number in the chain' })
  seq: string;

  @Field(() => Date)
  occurredAt: Date;

  @Field(() => ID, { nullable: true })
  actorUserId: string | null;

  @Field(() => ID, { nullable: true })
  actorApiKeyId: string | null;

  @Field(() => ID, { nullable: true })
  organizationId: string | null;

  @Field(() => String)
  action: string;

  @Field(() => String)
  targetType: string;

  @Field(() => String, { nullable: true })
  targetId: string | null;

  @Field(() => GraphQLJSON)
  data: Record<string, unknown>;

  @Field(() => String)
  prevHash: string;

  @Field(() => String)
  hash: string;
}

@ObjectType('AuditLogPage')
export class AuditLogPage {
  @Field(() => [AuditEntryOutput])
  entries: AuditEntryOutput[];

  @Field(() => String, { nullable: true, description: 'Pass as `after` for the next (older) page' })
  nextCursor: string | null;
}

@ObjectType('AuditVerification')
export class AuditVerificationOutput {
  @Field(() => Boolean)
  valid: boolean;

  @Field(() => Int)
  checkedRows: number;

  @Field(() => String, { nullable: true })
  firstInvalidSeq: string | null;

  @Field(() => String, { nullable: true })
  reason: string | null;

  @Field(() => String, { description: 'Hash of the newest verified row; keep a copy to detect truncation' })
  headHash: string;
}
