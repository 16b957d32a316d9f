import { ArgsType, Field, ID, InputType } from '@nestjs/graphql';
import { IsEnum, IsString, Length } from 'class-validator';
import { IsUuid } from '../../../platform/validation/uuid';
import { predicateDecorator } from '../../../platform/validation/decorator';
import { WatermarkSchemeKind } from '../../provenance.entity';
import GraphQLJSON from '../../../platform/graphql/json.scalar';
import { parametersProblem } from './watermark-parameters';

export const SECRET_MAX_LENGTH = 8192;

/** (WatermarkParametersCheck has checked already, before the pipe; this keeps the property through the pipe's whitelist.) */
const IsParameters = predicateDecorator('isWatermarkParameters', (v) => parametersProblem(v) === null, 'a JSON object within the limits');

@InputType()
export class RegisterWatermarkSchemeInput {
  @Field(() => ID, { description: "The model (write access to the model's organization)." })
  @IsUuid()
  modelId: string;

  @Field(() => WatermarkSchemeKind)
  @IsEnum(WatermarkSchemeKind, { message: 'scheme must be SYNTHID_TEXT, GREEN_LIST or OTHER' })
  scheme: WatermarkSchemeKind;

  @Field(() => GraphQLJSON, {
    description: 'Public parameters of the scheme (e.g. {"gamma": "0.25", "hashKeyLength": 4}): a JSON object of at most 16 KiB, nested at most 16 levels. Returned as given.',
  })
  @IsParameters()
  parameters: Record<string, unknown>;

  @Field(() => String, {
    description: 'The secret key material (1–8,192 characters). Stored encrypted; never returned, logged or audited — only its fingerprint is shown.',
  })
  @IsString()
  @Length(1, SECRET_MAX_LENGTH, { message: `secretKeyMaterial must be 1 to ${SECRET_MAX_LENGTH} characters` })
  secretKeyMaterial: string;
}

@ArgsType()
export class WatermarkSchemesArgs {
  @Field(() => ID)
  @IsUuid()
  modelId: string;
}
