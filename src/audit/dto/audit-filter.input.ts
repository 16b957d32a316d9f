import { Field, ID, InputType } from '@nestjs/graphql';
import { IsOptional, IsString, MaxLength } from 'class-validator';
import { IsUuid } from '../../platform/validation/uuid';

@InputType()
export class AuditLogFilter {
  @Field(() => String, { nullable: true })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  action?: string;

  @Field(() => ID, { nullable: true })
  @IsOptional()
  @IsUuid()
  organizationId?: string;

  @Field(() => ID, { nullable: true })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  targetId?: string;
}
