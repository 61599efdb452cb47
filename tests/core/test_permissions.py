"""Every root field and mutation declares its permission; every node type declares its own."""
from schema import schema
from schema.permissions import _Declared
from schema.relay import NODE_PERMS, NODE_RESOLVERS

# Root fields open to any authenticated caller of the brand, on purpose:
PUBLIC_FIELDS = {
    "Query.node": "checks the node type's own permission (NODE_PERMS)",
    "Query.notifications": "the caller's own notifications only",
    "Query.unreadNotificationCount": "the caller's own notifications only",
    "Mutation.notificationsMarkRead": "the caller's own notifications only",
    "Query.nodes": "same as node",
    "Query.viewer": "who am I",
    "Query.brand": "the caller's own brand",
    "Query.dealers": "the dealer directory, limited by dealer/region visibility",
}


def root_fields():
    for root in (schema.query, schema.mutation):
        definition = root.__strawberry_definition__
        for f in definition.fields:
            yield f"{definition.name}.{schema.config.name_converter.get_graphql_name(f)}", f


def test_every_root_field_declares_a_permission():
    missing, undeclared_public = [], []
    for name, field in root_fields():
        declared = [p for p in field.permission_classes if issubclass(p, _Declared)]
        if not declared:
            missing.append(name)
        elif any(p.perm is None for p in declared) and name not in PUBLIC_FIELDS:
            undeclared_public.append(name)
    assert not missing, f"fields without a permission declaration: {missing}"
    assert not undeclared_public, f"public fields not listed in PUBLIC_FIELDS: {undeclared_public}"


def test_every_node_type_declares_a_permission():
    assert set(NODE_RESOLVERS) == set(NODE_PERMS)
    node_types = {n for n, t in schema._schema.type_map.items() if getattr(t, "interfaces", None) and any(i.name == "Node" for i in t.interfaces)}
    assert node_types == set(NODE_RESOLVERS)


def test_permission_is_in_the_field_description():
    sdl = schema.as_str()
    assert "Requires: scope `admin`" in sdl


# Object types that are not nodes are reached only through declared fields; each is listed with
# the field(s) that guard it, so a new type cannot appear without someone deciding its access.
NON_NODE_TYPES = {
    "Viewer": "Query.viewer (public: the caller itself)",
    "MembershipGrant": "User.memberships (users visible per scope)",
    "AuditEvent": "Query.auditEvents (admin)",
    "Compensation": "Ticket.compensation (tickets:read)",
    "TicketEvent": "Ticket.events (tickets:read)",
    "TicketCount": "Query.ticketCounts (tickets:read)",
    "TicketPayload": "ticket mutations (tickets:write; the ticket only with tickets:read)",
    "NotificationsMarkReadPayload": "notificationsMarkRead (the caller's own)",
    "TicketCategoryPayload": "ticketCategoryCreate (admin)",
    "TicketPolicy": "Query.ticketPolicy (tickets:read)",
    "TicketPolicyPayload": "ticketPolicyUpdate (admin)",
    "PageInfo": "connections",
    "SurveyQuestion": "SurveyTemplate.questions (customers:read)",
    "DimensionScore": "SurveyResult.dimensionScores (customers:read)",
    "RuleCondition": "SelectionRule.conditions (brand-wide, customers:read)",
    "RulePreview": "Query.selectionRulePreview (surveys:write, brand-wide)",
    "RulePreviewHit": "Query.selectionRulePreview (surveys:write, brand-wide)",
    "SurveyTemplatePayload": "surveyTemplateSave (surveys:write, brand-wide)",
    "SelectionRulePayload": "selection rule mutations (surveys:write, brand-wide)",
    "SelectionRulesPayload": "selectionRuleMove (surveys:write, brand-wide)",
    "SelectionRuleDeletePayload": "selectionRuleDelete (surveys:write, brand-wide)",
    "SurveyResultsSubmitPayload": "surveyResultsSubmit (surveys:write, brand-wide; results only with customers:read)",
    "SurveyResultOutcome": "surveyResultsSubmit (surveys:write, brand-wide; results only with customers:read)",
    "AssignmentRulePayload": "assignmentRuleSave (admin)",
    "AssignmentRuleDeletePayload": "assignmentRuleDelete (admin)",
    "DealerPayload": "dealer mutations (admin)",
    "UserPayload": "user mutations (admin)",
    "PartnerAppPayload": "partner app mutations (admin)",
    "PartnerAppDeletePayload": "partner app mutations (admin)",
    "ContactPoint": "Customer.contactPoints (customers:read; values masked without customers:pii)",
    "ExternalRef": "Customer.externalRefs (customers:read)",
    "OwnedProduct": "Customer.products (customers:read)",
    "Promise": "Customer.promises (customers:read)",
    "WinbackAction": "Customer.winbackActions (customers:read)",
    "Interaction": "Customer.interactions (customers:read)",
    "TierChange": "Customer.tierHistory (customers:read)",
    "TimelineEntry": "Query.customerTimeline (customers:read)",
    "TierPolicy": "Query.tierPolicy (customers:read)",
    "CustomerPayload": "customer mutations (customers:write / admin)",
    "PromisePayload": "customer mutations (customers:write)",
    "ProductPayload": "customer mutations (customers:write)",
    "CustomerExportPayload": "customerExport (admin)",
    "TierPolicyPayload": "tierPolicyUpdate (admin)",
    "SlaConditions": "SlaPolicy.conditions (admin)",
    "SlaTarget": "SlaPolicy.targets (admin)",
    "SlaPause": "SlaPolicy.pauses (admin)",
    "SlaEscalationStep": "SlaPolicy.escalation (admin)",
    "SlaDeadlinePreview": "Query.slaDeadlinePreview (admin)",
    "SlaReportRow": "Query.slaReport (tickets:read; the caller's dealers only)",
    "SlaCalendarPayload": "slaCalendarSave (admin)",
    "SlaCalendarSourcePayload": "slaCalendarSeedHolidays, slaCalendarImportIcal (admin)",
    "SlaDeletePayload": "slaCalendarDelete, slaPolicyDelete (admin)",
    "SlaPolicyPayload": "slaPolicySave (admin)",
}


def test_every_object_type_has_a_declared_access_path():
    undeclared = []
    for name, t in schema._schema.type_map.items():
        if name.startswith("__") or name in ("Query", "Mutation", "Node") or not hasattr(t, "interfaces") or not hasattr(t, "fields"):
            continue
        if name.endswith("Connection") or name.endswith("Edge"):
            continue  # wrappers of node types, guarded by their root fields
        if name in NODE_PERMS or name in NON_NODE_TYPES:
            continue
        if name.endswith("Error") and f"{name}Code" in schema._schema.type_map:
            continue  # a domain's payload errors (schema.errors.domain_errors): only in mutation payloads
        undeclared.append(name)
    assert not undeclared, f"types without a declared access path: {undeclared}"
