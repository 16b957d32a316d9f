import { Field, ID, Int, ObjectType, registerEnumType } from '@nestjs/graphql';
import { MoneyOutput } from '../../../ledger/dto/money.output';

export enum AllocationPartKind {
  PLATFORM_FEE = 'PLATFORM_FEE',
  VENDOR_SHARE = 'VENDOR_SHARE',
  ROYALTY = 'ROYALTY',
}
registerEnumType(AllocationPartKind, {
  name: 'AllocationPartKind',
  description: "PLATFORM_FEE: the platform's fee; VENDOR_SHARE: a vendor's share of one model's lines after the fee; ROYALTY: a royalty the cascade moved from a model's vendor to an ancestor's vendor.",
});

export enum AllocationBasis {
  REVENUE = 'REVENUE',
  ROYALTY = 'ROYALTY',
}
registerEnumType(AllocationBasis, {
  name: 'AllocationBasis',
  description: "What a share is taken of: REVENUE, the model's own earnings (licence fees, usage, minimums); ROYALTY, royalty income the model received.",
});

@ObjectType('AllocationPart', { description: 'One part of a collected payment. The parts of an invoice sum to its total (vendor shares and the fee); royalties move money between vendors.' })
export class AllocationPartOutput {
  @Field(() => Int)
  position: number;

  @Field(() => AllocationPartKind)
  kind: AllocationPartKind;

  @Field(() => MoneyOutput, { description: 'The fee; the vendor share after the fee; or the royalty moved.' })
  amount: MoneyOutput;

  @Field(() => ID, { nullable: true, description: 'Who receives it (null: the platform).' })
  organizationId: string | null;

  @Field(() => ID, { nullable: true, description: 'VENDOR_SHARE: the model whose lines these are. ROYALTY: the ancestor model paid.' })
  modelId: string | null;

  @Field(() => AllocationBasis, { nullable: true })
  basis: AllocationBasis | null;

  @Field(() => MoneyOutput, { nullable: true, description: "VENDOR_SHARE: the sum of the model's lines." })
  gross: MoneyOutput | null;

  @Field(() => Int, { nullable: true, description: "VENDOR_SHARE: the vendor's platform fee in basis points." })
  feeBps: number | null;

  @Field(() => MoneyOutput, { nullable: true, description: "VENDOR_SHARE: the fee taken from this model's lines." })
  fee: MoneyOutput | null;

  @Field(() => ID, { nullable: true, description: 'ROYALTY: the vendor that pays it.' })
  payerOrganizationId: string | null;

  @Field(() => ID, { nullable: true, description: 'ROYALTY: the descendant model whose earnings it is taken from.' })
  payerModelId: string | null;

  @Field(() => ID, { nullable: true, description: 'ROYALTY: the licence (agreement of the lineage edge) the share comes from.' })
  agreementId: string | null;

  @Field(() => String, { nullable: true, description: 'ROYALTY: LAP (absolute, any depth) or LRP (relative, direct parent).' })
  policy: string | null;

  @Field(() => Int, { nullable: true })
  shareBps: number | null;

  @Field(() => Int, { nullable: true, description: "ROYALTY: the ancestor's distance from the model on the invoice line." })
  depth: number | null;
}

@ObjectType('OrganizationNet', { description: "What one organization received from a payment, net of royalties it passed on." })
export class OrganizationNetOutput {
  @Field(() => ID)
  organizationId: string;

  @Field(() => MoneyOutput)
  amount: MoneyOutput;
}

@ObjectType('InvoiceAllocation', {
  description:
    "How a collected payment was allocated, to the minor unit: the platform fee, each vendor's share of each model's lines, and every royalty " +
    "of the cascade down the models' lineages (with the licence it comes from). Recorded when the payment was collected; refunds and disputes " +
    'reverse it proportionally.',
})
export class InvoiceAllocationOutput {
  @Field(() => ID)
  invoiceId: string;

  @Field(() => MoneyOutput, { description: 'What was allocated (the invoice total); null for a vendor that sees only its own parts.', nullable: true })
  total: MoneyOutput | null;

  @Field(() => MoneyOutput, { nullable: true, description: "The platform's fee; null for a vendor that sees only its own parts." })
  platformFee: MoneyOutput | null;

  @Field(() => [OrganizationNetOutput], { description: 'Net per organization (vendor shares + royalties received − royalties paid).' })
  nets: OrganizationNetOutput[];

  @Field(() => [AllocationPartOutput])
  parts: AllocationPartOutput[];
}
