import { Field, ID, Int, ObjectType } from '@nestjs/graphql';

@ObjectType('UsageLeaf', {
  description:
    'The fields of a usage event that its Merkle leaf hashes: the leaf bytes are the UTF-8 of the RFC 8785 canonical JSON of exactly these six fields.',
})
export class UsageLeafOutput {
  @Field(() => ID)
  agreementId: string;

  @Field(() => String)
  eventId: string;

  @Field(() => String, { description: 'ISO-8601 UTC with milliseconds, e.g. 2026-11-03T10:00:00.000Z' })
  occurredAt: string;

  @Field(() => String, { description: 'Decimal string' })
  inputTokens: string;

  @Field(() => String, { description: 'Decimal string' })
  outputTokens: string;

  @Field(() => String, { description: 'GATEWAY or REPORTED' })
  source: string;
}

@ObjectType('UsageInclusionProof', {
  description:
    'Proof that a usage event was counted in what a closed billing period billed for an agreement: an RFC 6962 / RFC 9162 ' +
    'inclusion proof (leaf hash SHA-256(0x00 ‖ leaf), node hash SHA-256(0x01 ‖ left ‖ right)) of the leaf in the Merkle tree of ' +
    "the period's billed events of the agreement, ordered by event id in byte order.",
})
export class UsageInclusionProofOutput {
  @Field(() => ID)
  agreementId: string;

  @Field(() => String)
  period: string;

  @Field(() => String)
  eventId: string;

  @Field(() => UsageLeafOutput)
  leaf: UsageLeafOutput;

  @Field(() => Int, { description: '0-based position of the leaf in the tree' })
  leafIndex: number;

  @Field(() => Int, { description: 'Leaves in the tree: the events billed for the agreement at the close of the period' })
  treeSize: number;

  @Field(() => String, { description: 'SHA-256(0x00 ‖ leaf bytes), lowercase hex' })
  leafHash: string;

  @Field(() => [String], { description: 'Sibling hashes from the leaf up (RFC 9162 §2.1.3), lowercase hex' })
  auditPath: string[];

  @Field(() => String, { description: 'The root of the tree, lowercase hex' })
  merkleRoot: string;
}
