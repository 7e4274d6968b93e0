// Feature modules register their routes, authenticators, binders and metadata here (side-effect imports).
export {};
import './protocol/introspect.js';
import './protocol/revoke.js';
import './admin/index.js';
import './client-auth/jwt-assertion.js';
import './client-auth/mtls.js';
import './tokens/dpop.js';
import './protocol/register.js';
import './console/console-routes.js';
