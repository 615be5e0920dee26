import { devicesModule } from './devices/module'
import { healthModule } from './health/module'
import type { CoreModuleDef } from './module'
import { poolModule } from './pool/module'
import { proxyModule } from './proxy/module'
import { serialModule } from './serial/module'

/**
 * Every feature module of the core, in start order. Adding a module: create
 * `src/core/<name>/module.ts` exporting a CoreModuleDef, its contract part in
 * `src/shared/contract/<name>.ts`, and list both here and in `src/shared/contract/index.ts`.
 */
export const MODULES: CoreModuleDef[] = [devicesModule, serialModule, poolModule, proxyModule, healthModule]
