import type { ValueTransformer } from 'typeorm';

/** pg returns int8 as string: map it to bigint, never to number. */
export const bigintTransformer: ValueTransformer = {
  to: (value: bigint | null | undefined) => (value === null || value === undefined ? value : value.toString()),
  from: (value: string | null) => (value === null ? null : BigInt(value)),
};
