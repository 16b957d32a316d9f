import { UseInterceptors } from '@nestjs/common';
import { Args, Mutation, Query, Resolver } from '@nestjs/graphql';
import { CurrentPrincipal } from '../../platform/auth/decorators';
import { Principal } from '../../platform/auth/principal';
import { WatermarkParametersCheck } from './dto/watermark-parameters';
import { RegisterWatermarkSchemeInput, WatermarkSchemesArgs } from './dto/watermark.input';
import { toWatermarkSchemeOutput, WatermarkSchemeOutput } from './dto/watermark.output';
import { WatermarkService } from './watermark.service';

@Resolver(() => WatermarkSchemeOutput)
export class WatermarkResolver {
  constructor(private readonly watermarks: WatermarkService) {}

  @Mutation(() => WatermarkSchemeOutput, {
    description:
      "Members of the model's organization (write). Registers a watermark scheme for the model: parameters are shown, " +
      'the secret key material is stored encrypted and never returned (only secretFingerprint). ' +
      'Offers whose terms have watermarkRequired need at least one. Audited (without the secret).',
  })
  @UseInterceptors(WatermarkParametersCheck)
  async registerWatermarkScheme(
    @CurrentPrincipal() principal: Principal,
    @Args('input') input: RegisterWatermarkSchemeInput,
  ): Promise<WatermarkSchemeOutput> {
    return toWatermarkSchemeOutput(await this.watermarks.register(principal, input));
  }

  @Query(() => [WatermarkSchemeOutput], { description: "Members of the model's organization (read). The model's watermark schemes, newest first." })
  async watermarkSchemes(@CurrentPrincipal() principal: Principal, @Args() { modelId }: WatermarkSchemesArgs): Promise<WatermarkSchemeOutput[]> {
    return (await this.watermarks.list(principal, modelId)).map(toWatermarkSchemeOutput);
  }
}
