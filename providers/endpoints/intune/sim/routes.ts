/**
 * The Graph v1.0 routes of the simulator (the subset the intune driver and
 * its tests use), answering with the statuses and shapes of the real service:
 *
 *   groups            GET list ($filter, $select, $top, paging) · POST 201 · GET/PATCH 204/DELETE 204 by id
 *   group members     GET list · POST members/$ref 204 · DELETE members/{id}/$ref 204
 *   devices           GET list (Entra ID device objects; $filter deviceId)
 *   managedDevices    GET list (page 1000) · GET by id; read-only
 *   deviceConfigurations, deviceCompliancePolicies
 *                     GET list ($filter displayName, $expand assignments[, scheduledActionsForRule]) ·
 *                     POST 201 · GET · PATCH 200 · DELETE 204 · POST assign 200 {value} ·
 *                     GET assignments; configurations also POST assignments (one, 201);
 *                     compliance: POST scheduleActionsForRules 204, and no POST assignments
 *                     (400 "No OData route exists", microsoft-graph-docs #2326/#20615)
 *   mobileApps        GET list (no $expand=assignments: deprecated) · GET by id ($expand) ·
 *                     POST assign 204 · GET assignments
 * Unknown segments get Graph's 400 "Resource not found for the segment".
 */
import { Router } from '../../../kit/sim/router.js';
import { jsonResponse, type SimRequest, type SimResponse } from '../../../kit/sim/types.js';
import { graphError, graphErrorBody, notFound } from './errors.js';
import { matches, page, parseFilter, select, splitList, type PageOptions } from './odata.js';
import type { PolicyCollection, SimApp, SimGroup, SimPolicy, TenantModel } from './tenant.js';

const METADATA = 'https://graph.microsoft.com/v1.0/$metadata';

interface ListSpec {
  context: string;
  typeName: string;
  filterable: readonly string[];
  /** Polymorphic collections carry `@odata.type` even with $select. */
  keepType: boolean;
  paging: PageOptions;
}

export interface RouteOptions {
  /** Cap on every page (tests: small pages). */
  pageSize?: number;
}

const origin = (req: SimRequest) => `https://${req.headers.host ?? '127.0.0.1'}`;
const noContent = (): SimResponse => ({ status: 204 });

/** Filter, page and select a collection as Graph does. */
function list(req: SimRequest, items: Record<string, unknown>[], spec: ListSpec): SimResponse {
  const f = req.query.get('$filter');
  const filtered = f ? items.filter((o) => matches(parseFilter(f, spec.filterable), o)) : items;
  const count = req.query.get('$count') === 'true';
  // Entra ID answers $count and $orderby with filters only as an "advanced query" (header ConsistencyLevel: eventual)
  const eventual = String(req.headers.consistencylevel ?? '').toLowerCase() === 'eventual';
  if (!eventual && (count || (f && req.query.has('$orderby')))) {
    throw graphError(400, 'Request_UnsupportedQuery', "Unsupported Query: $count and $orderby with $filter need the header 'ConsistencyLevel: eventual'.");
  }
  const sorted = orderBy(filtered, req.query.get('$orderby'), spec);
  const { value, next } = page(sorted, req.query, origin(req), req.path, spec.paging);
  const props = splitList(req.query.get('$select'));
  return jsonResponse(200, {
    '@odata.context': `${METADATA}#${spec.context}`,
    ...(count ? { '@odata.count': filtered.length } : {}),
    value: value.map((o) => select(o, props, spec.typeName, spec.keepType)),
    ...(next ? { '@odata.nextLink': next } : {}),
  });
}

/** `$orderby=prop [asc|desc]` on one filterable property. */
function orderBy(items: Record<string, unknown>[], text: string | null, spec: ListSpec): Record<string, unknown>[] {
  if (!text) return items;
  const [prop, dir = 'asc'] = text.trim().split(/\s+/);
  if (!spec.filterable.includes(prop) || !['asc', 'desc'].includes(dir)) throw graphError(400, 'BadRequest', `Unsupported $orderby '${text}'.`);
  const sign = dir === 'desc' ? -1 : 1;
  return [...items].sort((a, b) => sign * String(a[prop] ?? '').localeCompare(String(b[prop] ?? '')));
}

function one(req: SimRequest, o: Record<string, unknown>, context: string, typeName: string): SimResponse {
  return jsonResponse(200, { '@odata.context': `${METADATA}#${context}/$entity`, ...select(o, splitList(req.query.get('$select')), typeName, true) });
}

/** The `$expand` items a request asks for, refusing those the type does not have. */
function expands(req: SimRequest, allowed: readonly string[], typeName: string): Set<string> {
  const out = new Set<string>();
  for (const e of splitList(req.query.get('$expand'))) {
    const name = e.replace(/\(.*$/s, '').trim();
    if (!allowed.includes(name)) throw graphError(400, 'BadRequest', `Could not find a property named '${name}' on type '${typeName}'.`);
    out.add(e.replace(/\s+/g, ''));
  }
  return out;
}

export function graphRoutes(model: TenantModel, o: RouteOptions = {}): Router {
  const paging = (defaultSize: number, maxSize: number): PageOptions => ({ defaultSize, maxSize, cap: o.pageSize });
  const r = new Router();
  const group = (req: SimRequest): SimGroup => model.groups.get(req.params.id) ?? (() => {
    throw notFound(req.params.id);
  })();

  // ---------------------------------------------------------------- groups
  const groupList: ListSpec = { context: 'groups', typeName: 'microsoft.graph.group', filterable: ['id', 'displayName', 'securityEnabled', 'mailEnabled', 'mailNickname'], keepType: false, paging: paging(100, 999) };
  r.get('/v1.0/groups', (req) => list(req, [...model.groups.values()].map((g) => model.groupJson(g)), groupList));
  r.post('/v1.0/groups', (req) => jsonResponse(201, { '@odata.context': `${METADATA}#groups/$entity`, ...model.groupJson(model.createGroup(req.json())) }));
  r.get('/v1.0/groups/:id', (req) => one(req, model.groupJson(group(req)), 'groups', 'microsoft.graph.group'));
  r.patch('/v1.0/groups/:id', (req) => {
    model.updateGroup(group(req), req.json());
    return noContent();
  });
  r.delete('/v1.0/groups/:id', (req) => {
    model.groups.delete(group(req).id);
    return noContent();
  });
  r.get('/v1.0/groups/:id/members', (req) => {
    const members = model.membersOf(group(req)).map((id) => model.directoryObject(id)!).filter(Boolean);
    return list(req, members, { context: 'directoryObjects', typeName: 'microsoft.graph.directoryObject', filterable: ['id', 'displayName'], keepType: true, paging: paging(100, 999) });
  });
  r.post('/v1.0/groups/:id/members/$ref', (req) => {
    const g = group(req);
    model.addMember(g, model.refId(req.json()['@odata.id']));
    return noContent();
  });
  r.delete('/v1.0/groups/:id/members/:member/$ref', (req) => {
    model.removeMember(group(req), req.params.member);
    return noContent();
  });

  // ---------------------------------------------------------------- devices
  r.get('/v1.0/devices', (req) =>
    list(req, model.entraDevices(), { context: 'devices', typeName: 'microsoft.graph.device', filterable: ['id', 'deviceId', 'displayName'], keepType: false, paging: paging(100, 999) }),
  );
  const managed = () => [...model.devices.values()].map((d) => model.managedDeviceJson(d));
  r.get('/v1.0/deviceManagement/managedDevices', (req) =>
    list(req, managed(), {
      context: 'deviceManagement/managedDevices',
      typeName: 'microsoft.graph.managedDevice',
      filterable: ['id', 'serialNumber', 'deviceName', 'operatingSystem', 'azureADDeviceId'],
      keepType: true,
      paging: paging(1000, 1000),
    }),
  );
  r.get('/v1.0/deviceManagement/managedDevices/:id', (req) => {
    const d = model.devices.get(req.params.id);
    if (!d) throw graphError(404, 'ResourceNotFound', `managedDevice '${req.params.id}' was not found.`);
    return one(req, model.managedDeviceJson(d), 'deviceManagement/managedDevices', 'microsoft.graph.managedDevice');
  });

  // ---------------------------------------------------------------- configuration and compliance
  for (const collection of ['deviceConfigurations', 'deviceCompliancePolicies'] as PolicyCollection[]) {
    const base = `/v1.0/deviceManagement/${collection}`;
    const compliance = collection === 'deviceCompliancePolicies';
    const typeName = compliance ? 'microsoft.graph.deviceCompliancePolicy' : 'microsoft.graph.deviceConfiguration';
    const assignmentType = compliance ? 'deviceCompliancePolicyAssignment' : 'deviceConfigurationAssignment';
    const expandable = compliance ? ['assignments', 'scheduledActionsForRule'] : ['assignments'];
    const policy = (req: SimRequest): SimPolicy => {
      const p = model.policies.get(req.params.id);
      if (!p || p.collection !== collection) throw graphError(404, 'ResourceNotFound', `${typeName.replace('microsoft.graph.', '')} '${req.params.id}' was not found.`);
      return p;
    };
    const json = (req: SimRequest, p: SimPolicy) => {
      const ex = expands(req, expandable, typeName);
      const rules = [...ex].find((e) => e.startsWith('scheduledActionsForRule'));
      const full = model.policyJson(p, { assignments: ex.has('assignments'), rules: !!rules });
      // scheduledActionConfigurations are a navigation property: only with the nested $expand
      if (rules && !rules.includes('scheduledActionConfigurations')) {
        for (const rule of full.scheduledActionsForRule as Record<string, unknown>[]) delete rule.scheduledActionConfigurations;
      }
      return full;
    };
    r.get(base, (req) => list(req, [...model.policies.values()].filter((p) => p.collection === collection).map((p) => json(req, p)), { context: `deviceManagement/${collection}`, typeName, filterable: ['id', 'displayName'], keepType: true, paging: paging(100, 999) }));
    r.post(base, (req) => jsonResponse(201, model.policyJson(model.createPolicy(collection, req.json()))));
    r.get(`${base}/:id`, (req) => one(req, json(req, policy(req)), `deviceManagement/${collection}`, typeName));
    r.patch(`${base}/:id`, (req) => {
      const p = policy(req);
      model.updatePolicy(p, req.json());
      return jsonResponse(200, model.policyJson(p));
    });
    r.delete(`${base}/:id`, (req) => {
      model.policies.delete(policy(req).id);
      return noContent();
    });
    r.post(`${base}/:id/assign`, (req) => {
      const p = policy(req);
      p.assignments = model.assignmentsFrom(p.id, req.json().assignments, false);
      return jsonResponse(200, { '@odata.context': `${METADATA}#Collection(microsoft.graph.${assignmentType})`, value: p.assignments.map((a) => model.assignmentJson(a, assignmentType)) });
    });
    r.get(`${base}/:id/assignments`, (req) => {
      const p = policy(req);
      return list(req, p.assignments.map((a) => model.assignmentJson(a, assignmentType)), { context: `deviceManagement/${collection}('${p.id}')/assignments`, typeName: `microsoft.graph.${assignmentType}`, filterable: ['id'], keepType: true, paging: paging(100, 999) });
    });
    if (!compliance) {
      r.post(`${base}/:id/assignments`, (req) => {
        const p = policy(req);
        const [a] = model.assignmentsFrom(p.id, [req.json()], false);
        p.assignments = [...p.assignments.filter((x) => x.id !== a.id), a];
        return jsonResponse(201, model.assignmentJson(a, assignmentType));
      });
    } else {
      r.post(`${base}/:id/scheduleActionsForRules`, (req) => {
        model.scheduleActions(policy(req), req.json());
        return noContent();
      });
      r.get(`${base}/:id/scheduledActionsForRule`, (req) => jsonResponse(200, { value: (model.policyJson(policy(req), { rules: true }).scheduledActionsForRule as unknown[]) ?? [] }));
    }
  }

  // ---------------------------------------------------------------- apps
  const apps = '/v1.0/deviceAppManagement/mobileApps';
  const app = (req: SimRequest): SimApp => {
    const a = model.apps.get(req.params.id);
    if (!a) throw graphError(404, 'ResourceNotFound', `mobileApp '${req.params.id}' was not found.`);
    return a;
  };
  r.get(apps, (req) => {
    if (expands(req, ['assignments', 'categories'], 'microsoft.graph.mobileApp').size) {
      throw graphError(400, 'BadRequest', 'Listing mobile apps with $expand=assignments is not supported; list the apps, then expand assignments on individual apps.');
    }
    return list(req, [...model.apps.values()].map((a) => model.appJson(a)), { context: 'deviceAppManagement/mobileApps', typeName: 'microsoft.graph.mobileApp', filterable: ['id', 'displayName', 'publishingState'], keepType: true, paging: paging(100, 999) });
  });
  r.get(`${apps}/:id`, (req) => one(req, model.appJson(app(req), expands(req, ['assignments'], 'microsoft.graph.mobileApp').has('assignments')), 'deviceAppManagement/mobileApps', 'microsoft.graph.mobileApp'));
  r.post(`${apps}/:id/assign`, (req) => {
    const a = app(req);
    const next = model.assignmentsFrom(a.id, req.json().mobileAppAssignments, true);
    if (next.length && a.publishingState !== 'published') throw graphError(400, 'BadRequest', `The app '${a.displayName}' is ${a.publishingState}; only published apps can be assigned.`);
    a.assignments = next;
    return noContent();
  });
  r.get(`${apps}/:id/assignments`, (req) => {
    const a = app(req);
    return list(req, a.assignments.map((x) => model.assignmentJson(x, 'mobileAppAssignment')), { context: `deviceAppManagement/mobileApps('${a.id}')/assignments`, typeName: 'microsoft.graph.mobileAppAssignment', filterable: ['id'], keepType: true, paging: paging(100, 999) });
  });
  return r;
}

/** 400 for a path Graph has no resource for. */
export function unknownSegment(req: SimRequest): SimResponse {
  const seg = req.path.split('/').filter(Boolean).pop() ?? '';
  return jsonResponse(400, graphErrorBody('BadRequest', `Resource not found for the segment '${seg}'.`));
}

/** A path Graph knows with a method it has no route for (POST .../deviceCompliancePolicies/{id}/assignments). */
export function noRoute(req: SimRequest): SimResponse {
  return jsonResponse(400, graphErrorBody('No method match route template', `No OData route exists that match template ~/singleton/navigation/key/navigation with http verb ${req.method} for request ${req.path}.`));
}
