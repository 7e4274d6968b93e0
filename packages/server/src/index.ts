export { loadConfig, validateIssuer, ConfigError, settings, type Config } from './config.js';
export { startServer, bootstrap, createLogger, type RunningServer } from './app/server.js';
export { composeServer, type ComposedServer } from './app/compose.js';
export { openRuntime, startRuntime, closeRuntime, type Runtime } from './app/runtime.js';
export { ADMIN_SCOPE, INTROSPECT_SCOPE } from './shared/scope.js';
export { ClientService } from './management/clients.service.js';
export { OAuthError } from './shared/errors.js';
