// Feature module: the /admin/v1 API (imported once from features.ts).
import { routeInstallers } from '../http/server.js';
import { installAdminApi } from './admin-api.js';

routeInstallers.push(installAdminApi);
