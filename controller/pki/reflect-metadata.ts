/**
 * The part of the Reflect metadata API that @peculiar/x509's dependency tsyringe refuses to load
 * without (it checks for Reflect.getMetadata at import). tsyringe only reads the constructor
 * parameter types decorators record, and x509's classes take none, so a small store is enough:
 * no `reflect-metadata` dependency. Installed only where no polyfill is present already.
 */
type MetadataKey = unknown;
type Target = object;

interface ReflectMetadata {
  getMetadata(key: MetadataKey, target: Target, property?: PropertyKey): unknown;
  getOwnMetadata(key: MetadataKey, target: Target, property?: PropertyKey): unknown;
  defineMetadata(key: MetadataKey, value: unknown, target: Target, property?: PropertyKey): void;
  metadata(key: MetadataKey, value: unknown): (target: Target, property?: PropertyKey) => void;
}

const store = new WeakMap<Target, Map<PropertyKey | undefined, Map<MetadataKey, unknown>>>();

function ownMap(target: Target, property: PropertyKey | undefined, create: boolean) {
  let byProperty = store.get(target);
  if (!byProperty) {
    if (!create) return undefined;
    byProperty = new Map();
    store.set(target, byProperty);
  }
  let values = byProperty.get(property);
  if (!values && create) {
    values = new Map();
    byProperty.set(property, values);
  }
  return values;
}

const shim: ReflectMetadata = {
  getOwnMetadata: (key, target, property) => ownMap(target, property, false)?.get(key),
  getMetadata(key, target, property) {
    for (let t: Target | null = target; t !== null; t = Object.getPrototypeOf(t)) {
      const values = ownMap(t, property, false);
      if (values?.has(key)) return values.get(key);
    }
    return undefined;
  },
  defineMetadata: (key, value, target, property) => {
    ownMap(target, property, true)!.set(key, value);
  },
  metadata: (key, value) => (target, property) => shim.defineMetadata(key, value, target, property),
};

const reflect = Reflect as unknown as Partial<ReflectMetadata>;
if (typeof reflect.getMetadata !== 'function') Object.assign(Reflect, shim);
