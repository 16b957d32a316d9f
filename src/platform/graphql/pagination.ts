/**
 * Relay-style paging for every list: the `first` / `after` arguments, PageInfo
 * and the generic Connection/Edge (`Paginated`). A new connection is one class:
 * `@ObjectType('InvoiceConnection') class InvoiceConnection extends Paginated(InvoiceOutput, 'Invoice') {}`
 * (extra fields such as `totalCount` are declared on it).
 */
import { Type } from '@nestjs/common';
import { ArgsType, Field, Int, ObjectType } from '@nestjs/graphql';
import { Transform } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import type { Connection, Edge } from '../paging/page';
import { MAX_PAGE_SIZE } from './limits';

@ArgsType()
export class PageArgs {
  @Field(() => Int, { nullable: true, defaultValue: 20, description: `Page size, 1–${MAX_PAGE_SIZE} (default 20).` })
  @Transform(({ value }: { value: unknown }) => value ?? 20)
  @IsInt()
  @Min(1, { message: 'first must be at least 1' })
  @Max(MAX_PAGE_SIZE, { message: `first must be at most ${MAX_PAGE_SIZE}` })
  first: number = 20;

  @Field(() => String, { nullable: true, description: 'The `endCursor` of the previous page.' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  after?: string | null;
}

@ObjectType('PageInfo')
export class PageInfoOutput {
  @Field(() => Boolean)
  hasNextPage: boolean;

  @Field(() => String, { nullable: true })
  endCursor: string | null;
}

/**
 * The abstract base of `<Name>Connection`, with its `<Name>Edge` type (`name`
 * is the node's GraphQL type name). Each call makes its own classes: the edge
 * must be a distinct GraphQL type per node.
 */
export function Paginated<TNode>(node: Type<TNode>, name: string): Type<Connection<TNode>> {
  @ObjectType(`${name}Edge`)
  class EdgeType implements Edge<TNode> {
    @Field(() => String, { description: 'Opaque cursor; pass as `after` to continue after this edge.' })
    cursor: string;

    @Field(() => node)
    node: TNode;
  }

  @ObjectType({ isAbstract: true })
  abstract class ConnectionType implements Connection<TNode> {
    @Field(() => [EdgeType])
    edges: EdgeType[];

    @Field(() => PageInfoOutput)
    pageInfo: PageInfoOutput;
  }
  return ConnectionType as Type<Connection<TNode>>;
}
