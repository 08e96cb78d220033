/**
 * Why a task runs. Every rerun has exactly one reason, the first that
 * applies in this order: forced, new, previous run failed/interrupted,
 * tool changed (or tool rebuilt, for a tool the graph builds), config changed, env changed, input changed,
 * definition changed (or inputs changed, when what changed is unknown), dependency rebuilt, output missing, output changed.
 */
export type Reason =
  | { readonly kind: 'forced' }
  | { readonly kind: 'new' }
  | { readonly kind: 'previous run failed' }
  | { readonly kind: 'previous run interrupted' }
  | { readonly kind: 'tool changed'; readonly name: string }
  /** A tool the graph builds will be rebuilt: its producer's key changed. */
  | { readonly kind: 'tool rebuilt'; readonly name: string; readonly producer: string }
  | { readonly kind: 'config changed'; readonly key: string }
  | { readonly kind: 'env changed'; readonly name: string }
  | { readonly kind: 'input changed'; readonly path: string }
  | { readonly kind: 'definition changed' }
  /** The key changed but what changed was not recorded (explain.json missing or damaged). */
  | { readonly kind: 'inputs changed' }
  | { readonly kind: 'dependency rebuilt'; readonly id: string }
  | { readonly kind: 'output missing'; readonly path: string }
  | { readonly kind: 'output changed'; readonly path: string };

/** `input changed: Python/ceval.c`, `new`, ... : the form `-n --explain` prints. */
export function formatReason(reason: Reason): string {
  switch (reason.kind) {
    case 'tool changed':
    case 'env changed':
      return `${reason.kind}: ${reason.name}`;
    case 'tool rebuilt':
      return `${reason.kind}: ${reason.name} (by ${reason.producer})`;
    case 'config changed':
      return `${reason.kind}: ${reason.key}`;
    case 'input changed':
    case 'output missing':
    case 'output changed':
      return `${reason.kind}: ${reason.path}`;
    case 'dependency rebuilt':
      return `${reason.kind}: ${reason.id}`;
    default:
      return reason.kind;
  }
}
