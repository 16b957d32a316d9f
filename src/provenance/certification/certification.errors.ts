/** Expected outcomes of revoking a certification that are not successes: union members implementing BusinessError. */
import { createUnionType, Field, ObjectType } from '@nestjs/graphql';
import { BusinessError } from '../../platform/errors/business-error.type';
import { CertificationOutput } from './dto/certification.output';

@ObjectType({ implements: () => [BusinessError], description: 'The certification was revoked already; nothing changed.' })
export class CertificationAlreadyRevokedError implements BusinessError {
  @Field(() => String)
  code = 'CERTIFICATION_ALREADY_REVOKED';

  @Field(() => String)
  message: string;

  @Field(() => CertificationOutput, { description: 'The certification as it stands (with its first revocation).' })
  certification: CertificationOutput;

  constructor(certification: CertificationOutput) {
    this.certification = certification;
    this.message = `Certification ${certification.id} was already revoked at ${certification.revokedAt?.toISOString()}`;
  }
}

export const RevokeCertificationResult = createUnionType({
  name: 'RevokeCertificationResult',
  types: () => [CertificationOutput, CertificationAlreadyRevokedError] as const,
});
