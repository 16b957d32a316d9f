import DataLoader from 'dataloader';

/** Per-request DataLoaders live on the GraphQL context (created fresh per request). */
export interface LoaderContext {
  loaders: Map<string, DataLoader<unknown, unknown>>;
}

export function loaderFor<K, V>(
  ctx: LoaderContext,
  name: string,
  batch: (keys: readonly K[]) => Promise<(V | Error)[]>,
): DataLoader<K, V> {
  let loader = ctx.loaders.get(name) as DataLoader<K, V> | undefined;
  if (!loader) {
    loader = new DataLoader<K, V>(batch, { maxBatchSize: 500 });
    ctx.loaders.set(name, loader as DataLoader<unknown, unknown>);
  }
  return loader;
}
