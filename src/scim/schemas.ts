import SCIMMY from 'scimmy';

export const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const ENTERPRISE_USER_SCHEMA = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';
// scimmy 1.3.5 accepts extension schemas only under urn:ietf:params:scim:schemas:…
export const ROSTER_GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:extension:roster:2.0:Group';
export const LIST_RESPONSE_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
export const PATCH_OP_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const SEARCH_REQUEST_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest';
export const ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';

export type ResourceType = 'User' | 'Group';

const { Attribute, SchemaDefinition } = SCIMMY.Types;

/** Roster's learning-group settings, carried on SCIM Groups as an extension. */
export const rosterGroupExtension = new SchemaDefinition(
  'RosterGroup',
  ROSTER_GROUP_SCHEMA,
  'Roster learning-group settings',
  [
    new Attribute('string', 'description', { description: 'What the group is for' }),
    new Attribute('string', 'color', { description: 'A display colour, such as #3366ff' }),
    new Attribute('integer', 'maxMembers', { description: 'Largest number of members the group may have' }),
    new Attribute('string', 'visibility', {
      canonicalValues: ['private', 'public'],
      description: 'private: only admins add members; public: members may join and leave',
    }),
    new Attribute('boolean', 'archived', { description: 'Read-only and hidden from active lists' }),
  ],
);

let declared = false;

/** Declares Users and Groups (with their extensions) to scimmy once per process. */
export function declareScimSchemas(): void {
  if (declared) return;
  declared = true;
  SCIMMY.Resources.declare(SCIMMY.Resources.User).extend(SCIMMY.Schemas.EnterpriseUser, false);
  SCIMMY.Resources.declare(SCIMMY.Resources.Group).extend(rosterGroupExtension as never, false);
}

export const userDefinition = (): InstanceType<typeof SchemaDefinition> => {
  declareScimSchemas();
  return SCIMMY.Schemas.User.definition;
};

export const groupDefinition = (): InstanceType<typeof SchemaDefinition> => {
  declareScimSchemas();
  return SCIMMY.Schemas.Group.definition;
};

export function definitionFor(type: ResourceType): InstanceType<typeof SchemaDefinition> {
  return type === 'User' ? userDefinition() : groupDefinition();
}
