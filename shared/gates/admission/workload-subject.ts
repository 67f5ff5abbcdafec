import { MAX_SCOPE_VALUE_LENGTH, SCOPE_VALUE_PATTERN, type Scope } from '../../domain/common';

/**
 * What a bypass covers in Kubernetes: the subject of an admission check, read from the object
 * being admitted. One subject per container image (each image must be covered for the object to
 * pass), each with:
 *   namespace  the object's namespace (or the request's)
 *   workload   <kind>/<name> of the controller the object belongs to, lower-case kind:
 *              deployment/payments-api for a Deployment, its ReplicaSets and their Pods;
 *              statefulset/…, daemonset/…, job/…, cronjob/…; pod/<name> for a bare Pod
 *   image      the image reference as written in the spec (ghcr.io/acme/api@sha256:…)
 *   digest     sha256:<hex> when the reference pins one (so a bypass can name a digest alone)
 * A bypass scope names any subset of these: {namespace: prod} covers every workload in prod,
 * {digest: sha256:…} that image everywhere, {namespace, workload} one workload.
 */
export interface WorkloadSubjects {
  /** <kind>/<name>, or undefined when the object names no workload. */
  workload: string | undefined;
  namespace: string | undefined;
  images: string[];
  /** The subjects to check: one per image, or one without image when the object has none. */
  subjects: Scope[];
  /** Values that could not be part of a subject (too long, or with a space, comma or "="). */
  problems: string[];
}

type Json = Record<string, unknown>;

const asObject = (value: unknown): Json | undefined => (typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : undefined);
const asString = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);

/** The pod spec inside a workload object, wherever its kind keeps it. */
function podSpecOf(kind: string, object: Json): Json | undefined {
  const spec = asObject(object.spec);
  if (!spec) return undefined;
  switch (kind) {
    case 'Pod':
      return spec;
    case 'CronJob':
      return asObject(asObject(asObject(asObject(spec.jobTemplate)?.spec)?.template)?.spec);
    default:
      return asObject(asObject(spec.template)?.spec);
  }
}

/** Every image of the pod spec: init, regular and ephemeral containers, in spec order, each once. */
export function imagesOf(kind: string, object: Json): string[] {
  const podSpec = podSpecOf(kind, object);
  if (!podSpec) return [];
  const images: string[] = [];
  for (const list of ['initContainers', 'containers', 'ephemeralContainers']) {
    const containers = podSpec[list];
    if (!Array.isArray(containers)) continue;
    for (const container of containers) {
      const image = asString(asObject(container)?.image);
      if (image && !images.includes(image)) images.push(image);
    }
  }
  return images;
}

/**
 * The workload an object belongs to. A Pod or ReplicaSet made by a Deployment carries the
 * pod-template-hash label and is named <deployment>-<hash>[-<suffix>]; a Job made by a CronJob
 * has the CronJob as its owner. Anything else is its own workload.
 */
export function workloadOf(kind: string, object: Json): string | undefined {
  const metadata = asObject(object.metadata) ?? {};
  const name = asString(metadata.name) ?? asString(metadata.generateName)?.replace(/-$/, '');
  const owner = (Array.isArray(metadata.ownerReferences) ? metadata.ownerReferences : []).map(asObject).find((o) => o?.controller === true) ?? asObject((metadata.ownerReferences as unknown[] | undefined)?.[0]);
  const ownerKind = asString(owner?.kind);
  const ownerName = asString(owner?.name);
  const hash = asString(asObject(metadata.labels)?.['pod-template-hash']);
  if (kind === 'ReplicaSet' && hash && name?.endsWith(`-${hash}`)) return `deployment/${name.slice(0, -hash.length - 1)}`;
  if (ownerKind === 'ReplicaSet' && ownerName && hash && ownerName.endsWith(`-${hash}`)) return `deployment/${ownerName.slice(0, -hash.length - 1)}`;
  if (ownerKind && ownerName && ['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob', 'ReplicaSet'].includes(ownerKind)) {
    // A Job's Pods belong to the Job, and a CronJob's Job to the CronJob: name the top we can see.
    return `${ownerKind.toLowerCase()}/${ownerName}`;
  }
  return name ? `${kind.toLowerCase()}/${name}` : undefined;
}

/** sha256:<64 hex> from an image reference pinned by digest. */
export function digestOf(image: string): string | undefined {
  return /@(sha256:[0-9a-f]{64})$/.exec(image)?.[1];
}

/** The subjects of an admitted object (see the file comment). `namespace` is the request's when the object has none. */
export function workloadSubjects(kind: string, object: unknown, requestNamespace?: string): WorkloadSubjects {
  const obj = asObject(object) ?? {};
  const namespace = asString(asObject(obj.metadata)?.namespace) ?? asString(requestNamespace);
  const workload = workloadOf(kind, obj);
  const images = imagesOf(kind, obj);
  const problems: string[] = [];
  const usable = (what: string, value: string | undefined): string | undefined => {
    if (value === undefined) return undefined;
    if (value.length > MAX_SCOPE_VALUE_LENGTH || !SCOPE_VALUE_PATTERN.test(value)) {
      problems.push(`${what} "${value.slice(0, 80)}" cannot be a scope value (at most ${MAX_SCOPE_VALUE_LENGTH} characters, no spaces, commas or "=")`);
      return undefined;
    }
    return value;
  };
  const base: Record<string, string> = {};
  const ns = usable('namespace', namespace);
  const wl = usable('workload', workload);
  if (ns) base.namespace = ns;
  if (wl) base.workload = wl;
  const subjects: Scope[] = [];
  for (const image of images) {
    const ref = usable('image', image);
    if (!ref) continue;
    const digest = digestOf(ref);
    subjects.push({ ...base, image: ref, ...(digest ? { digest } : {}) });
  }
  if (images.length === 0 && Object.keys(base).length > 0) subjects.push(base);
  return { workload, namespace, images, subjects, problems };
}
