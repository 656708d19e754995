/**
 * Per-request batching (the DataLoader idea, in a few lines): the keys a field's resolvers ask for
 * while one level of a response is resolved are loaded together, so a page of 100 runs asking for their
 * loops costs one query, not 100. Results are cached for the rest of the request.
 */
type Load<C, K, V> = (request: C, keys: readonly K[]) => Promise<Map<K, V>>;

interface Loader<K, V> {
  cache: Map<K, Promise<V | undefined>>;
  pending: { key: K; resolve: (value: V | undefined) => void; reject: (error: unknown) => void }[];
}

// Keyed by the request's context object (one per request) and then by the load function.
const loaders = new WeakMap<object, Map<unknown, Loader<unknown, unknown>>>();

/** `load(request, keys)` for this key and the others asked for at the same time; undefined when it has no value for the key. */
export function batched<C extends object, K, V>(request: C, load: Load<C, K, V>, key: K): Promise<V | undefined> {
  let byLoad = loaders.get(request);
  if (byLoad === undefined) {
    byLoad = new Map();
    loaders.set(request, byLoad);
  }
  let loader = byLoad.get(load) as Loader<K, V> | undefined;
  if (loader === undefined) {
    loader = { cache: new Map(), pending: [] };
    byLoad.set(load, loader as Loader<unknown, unknown>);
  }
  const cached = loader.cache.get(key);
  if (cached !== undefined) return cached;
  const promise = new Promise<V | undefined>((resolve, reject) => {
    const current = loader!;
    if (current.pending.length === 0) {
      // After the promise jobs already queued: graphql-js calls the resolvers of a list's items in one
      // pass, and those of items behind resolved promises just after.
      void Promise.resolve().then(() => process.nextTick(() => void flush(request, current, load)));
    }
    current.pending.push({ key, resolve, reject });
  });
  loader.cache.set(key, promise);
  return promise;
}

async function flush<C, K, V>(request: C, loader: Loader<K, V>, load: Load<C, K, V>): Promise<void> {
  const batch = loader.pending.splice(0);
  try {
    const values = await load(
      request,
      batch.map((p) => p.key),
    );
    for (const { key, resolve } of batch) resolve(values.get(key));
  } catch (error) {
    for (const { reject } of batch) reject(error);
  }
}
