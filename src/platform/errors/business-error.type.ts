import { Field, InterfaceType } from '@nestjs/graphql';

/**
 * Every business outcome that is not a success (TermsChangedError, …) is an
 * ObjectType implementing this interface, returned as a member of a union.
 * Clients branch on __typename; `code` is stable, `message` is for humans.
 */
@InterfaceType('BusinessError')
export abstract class BusinessError {
  @Field(() => String)
  code: string;

  @Field(() => String)
  message: string;
}
