// Feature modules register their routes, authenticators, binders and metadata here (side-effect imports).
export {};
import './protocol/introspect.js';
import './protocol/revoke.js';
import './admin/index.js';
