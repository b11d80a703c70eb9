export { ApiServer, ApiServerError, type ApiServerOptions, type ApiListenOptions, type ApiTlsOptions } from './server';
export { VadcClient, type VadcClientOptions } from './client';
export { ApiError, DaemonUnreachableError, type ApiErrorCode } from './errors';
export { parseApiEndpoint, formatApiEndpoint, ApiEndpointError, DEFAULT_API_ENDPOINT, DEFAULT_API_SOCKET, type ApiEndpoint } from './endpoint';
export { matchRoute, ROUTES, type RouteName } from './router';
export { serviceSpecSchema, backendSpecSchema } from './schemas';
export { apiListenersFromConfig } from './listeners';
