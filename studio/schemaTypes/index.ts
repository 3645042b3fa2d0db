import { accessPolicy } from './accessPolicy.ts'
import { fanOutStatusTypes } from './fanOutStatus.ts'
import { plan } from './plan.ts'
import { reconcileStatusTypes } from './reconcileStatus.ts'
import { role } from './role.ts'
import { syncStatusTypes } from './syncStatus.ts'

export const schemaTypes = [accessPolicy, plan, role, ...syncStatusTypes, ...reconcileStatusTypes, ...fanOutStatusTypes]
