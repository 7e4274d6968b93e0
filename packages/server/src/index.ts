export { loadConfig, validateIssuer, ConfigError, settings, type Config } from './config.js';
export { startServer, bootstrap, createLogger, ADMIN_SCOPE, INTROSPECT_SCOPE, type RunningServer } from './app.js';
export { openServices, startServices, closeServices, type Services } from './services.js';
export { ClientService } from './management/clients.service.js';
export { OAuthError } from './shared/errors.js';
