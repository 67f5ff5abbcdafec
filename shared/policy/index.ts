export * from './request-validation';
export * from './review-assignment';
export * from './scope-match';
export * from './separation-of-duties';
export * from './standing-scope';
export * from './state-machine';
export * from './tier-resolution';
export * from './ttl-limits';
