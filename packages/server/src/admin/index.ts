export { adminApiFeature, ADMIN_PREFIX, CONSOLE_MARK_HEADER, type AdminApiDeps } from './admin-api.js';
export { adminAuthenticator, type AdminAuthenticator, type AdminPrincipal } from './admin-auth.js';
