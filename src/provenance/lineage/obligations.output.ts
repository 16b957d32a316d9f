import { Field, ID, Int, ObjectType, registerEnumType } from '@nestjs/graphql';
import { AttributionPlacement, NamingRule } from '../../licensing/terms/terms.types';
import { ObligationConflictKind, Obligations, UseRestrictionKind } from './obligations';

registerEnumType(UseRestrictionKind, { name: 'UseRestrictionKind', description: 'A restriction an upstream licence passes down to derivatives.' });
registerEnumType(ObligationConflictKind, { name: 'ObligationConflictKind', description: 'Two upstream licences (or a licence and the model) that cannot both be honoured.' });

@ObjectType('LineageEdgeRef', { description: 'The lineage edge (and its licence) an obligation comes from.' })
export class LineageEdgeRefOutput {
  @Field(() => ID)
  parentModelId: string;

  @Field(() => ID)
  childModelId: string;

  @Field(() => ID)
  agreementId: string;

  @Field(() => String)
  termsHash: string;

  @Field(() => Int, { description: '1 = an edge into the model itself.' })
  depth: number;
}

@ObjectType('AttributionObligation')
export class AttributionObligationOutput {
  @Field(() => String)
  displayString: string;

  @Field(() => [AttributionPlacement])
  placements: AttributionPlacement[];

  @Field(() => String, { nullable: true })
  noticeText: string | null;

  @Field(() => ID)
  fromModelId: string;

  @Field(() => ID)
  agreementId: string;

  @Field(() => Int)
  depth: number;
}

@ObjectType('NamingObligation')
export class NamingObligationOutput {
  @Field(() => NamingRule)
  rule: NamingRule;

  @Field(() => String)
  token: string;

  @Field(() => ID)
  fromModelId: string;

  @Field(() => ID)
  agreementId: string;

  @Field(() => Int)
  depth: number;

  @Field(() => Boolean, { description: "Whether the model's current name satisfies the rule." })
  satisfied: boolean;
}

@ObjectType('UseRestriction')
export class UseRestrictionOutput {
  @Field(() => UseRestrictionKind)
  kind: UseRestrictionKind;

  @Field(() => String, { nullable: true, description: 'The acceptable-use policy URL or the excluded country code.' })
  value: string | null;

  @Field(() => [LineageEdgeRefOutput])
  edges: LineageEdgeRefOutput[];
}

@ObjectType('ObligationConflict')
export class ObligationConflictOutput {
  @Field(() => ObligationConflictKind)
  kind: ObligationConflictKind;

  @Field(() => String, { description: 'What conflicts and what to do about it.' })
  message: string;

  @Field(() => [LineageEdgeRefOutput], { description: 'The edges whose licences cause the conflict.' })
  edges: LineageEdgeRefOutput[];
}

@ObjectType('ModelObligations', {
  description:
    "What the model's licences require of it, across every ancestor: attribution lines, naming rules (checked against the name), a NOTICE text, restrictions that flow down, and conflicts between licences.",
})
export class ObligationsOutput {
  @Field(() => [AttributionObligationOutput])
  attributions: AttributionObligationOutput[];

  @Field(() => [NamingObligationOutput])
  naming: NamingObligationOutput[];

  @Field(() => Boolean)
  namingSatisfied: boolean;

  @Field(() => String, { description: 'A NOTICE file for the model, assembled from every applicable licence.' })
  notice: string;

  @Field(() => [UseRestrictionOutput])
  useRestrictions: UseRestrictionOutput[];

  @Field(() => [ObligationConflictOutput])
  conflicts: ObligationConflictOutput[];
}

export function toObligationsOutput(o: Obligations): ObligationsOutput {
  return Object.assign(new ObligationsOutput(), {
    attributions: o.attributions.map((a) => ({ ...a })),
    naming: o.naming.map((n) => ({ ...n, token: n.token })),
    namingSatisfied: o.namingSatisfied,
    notice: o.notice,
    useRestrictions: o.useRestrictions.map((u) => ({ ...u, edges: u.edges.map((e) => ({ ...e })) })),
    conflicts: o.conflicts.map((c) => ({ ...c, edges: c.edges.map((e) => ({ ...e })) })),
  });
}
