import { Field, ID, Int, ObjectType } from '@nestjs/graphql';
import { MoneyOutput } from '../../../ledger/dto/money.output';
import GraphQLJSON from '../../../platform/graphql/json.scalar';

const DOCUMENT =
  'The whole signed document {payload, signature, keyId, statement}: save it as statement.json and check it offline with `npm run verify-statement -- statement.json keys.json` against GET /.well-known/beiming-keys.json.';

@ObjectType('EarningsStatementTotal', { description: 'The sum of the lines from one source (vendor side: positive = owed to the vendor).' })
export class EarningsStatementTotalOutput {
  @Field(() => String, { description: 'LICENCE_FEES, USAGE, MINIMUM_COMMITMENT, DOWNSTREAM_ROYALTY_LINES, PLATFORM_FEE, ROYALTIES_RECEIVED, ROYALTIES_PAID, REFUNDS, DISPUTE_HELD, DISPUTE_RELEASED, DISPUTE_LOST, PROCESSING, OTHER' })
  source: string;

  @Field(() => MoneyOutput)
  amount: MoneyOutput;
}

@ObjectType('EarningsStatement', {
  description:
    "A vendor organization's signed earnings for one CLOSED billing period and currency: every movement of its payable and held ledger accounts in the period, by source, totalling exactly the ledger's change. Generated on first request and stored.",
})
export class EarningsStatementOutput {
  @Field(() => ID)
  id: string;

  @Field(() => ID)
  organizationId: string;

  @Field(() => String, { description: 'YYYY-MM (UTC)' })
  period: string;

  @Field(() => String)
  currency: string;

  @Field(() => String, { description: 'The JWKS `kid` of the signing key.' })
  keyId: string;

  @Field(() => Date)
  issuedAt: Date;

  @Field(() => Int)
  lineCount: number;

  @Field(() => [EarningsStatementTotalOutput])
  totals: EarningsStatementTotalOutput[];

  @Field(() => MoneyOutput, { description: 'Net change of the payable and held accounts in the period (equals the ledger).' })
  net: MoneyOutput;

  @Field(() => String, { description: 'The exact signed bytes (RFC 8785 canonical JSON, UTF-8).' })
  payload: string;

  @Field(() => String, { description: 'Ed25519 signature over `payload`, base64url.' })
  signature: string;

  @Field(() => GraphQLJSON, { description: 'The statement, parsed from `payload`.' })
  statement: Record<string, unknown>;

  @Field(() => GraphQLJSON, { description: DOCUMENT })
  document: Record<string, unknown>;
}

@ObjectType('UsageStatementAgreement', { description: 'Usage billed in the period on one agreement, with its Merkle root and charges.' })
export class UsageStatementAgreementOutput {
  @Field(() => ID)
  agreementId: string;

  @Field(() => Int)
  eventCount: number;

  @Field(() => String, { description: 'Decimal string' })
  inputTokens: string;

  @Field(() => String, { description: 'Decimal string' })
  outputTokens: string;

  @Field(() => String, { description: 'RFC 6962 Merkle root (hex) over the usage events billed in the period, ordered by event id.' })
  merkleRoot: string;

  @Field(() => [MoneyOutput], { description: "The period's invoice lines for this agreement, summed per currency." })
  charges: MoneyOutput[];
}

@ObjectType('UsageStatement', {
  description:
    "A distiller organization's signed usage for one CLOSED billing period: per agreement the usage billed (tokens, events, Merkle root) and the charges. Generated on first request and stored.",
})
export class UsageStatementOutput {
  @Field(() => ID)
  id: string;

  @Field(() => ID)
  organizationId: string;

  @Field(() => String)
  period: string;

  @Field(() => String)
  keyId: string;

  @Field(() => Date)
  issuedAt: Date;

  @Field(() => [UsageStatementAgreementOutput])
  agreements: UsageStatementAgreementOutput[];

  @Field(() => [MoneyOutput], { description: 'All charges of the period, per currency.' })
  totals: MoneyOutput[];

  @Field(() => String, { description: 'The exact signed bytes (RFC 8785 canonical JSON, UTF-8).' })
  payload: string;

  @Field(() => String, { description: 'Ed25519 signature over `payload`, base64url.' })
  signature: string;

  @Field(() => GraphQLJSON)
  statement: Record<string, unknown>;

  @Field(() => GraphQLJSON, { description: DOCUMENT })
  document: Record<string, unknown>;
}
