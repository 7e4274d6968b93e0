// node-oidc-provider ships no type declarations; the tests use it as an opaque, independent server.
declare module 'oidc-provider' {
  const Provider: new (issuer: string, configuration: unknown) => { callback(): unknown };
  export default Provider;
  export const errors: { InvalidTarget: new (description?: string) => Error };
}
