import { accessPolicy } from './accessPolicy.ts'
import { reconcileStatusTypes } from './reconcileStatus.ts'
import { role } from './role.ts'
import { syncStatusTypes } from './syncStatus.ts'

export const schemaTypes = [accessPolicy, role, ...syncStatusTypes, ...reconcileStatusTypes]
