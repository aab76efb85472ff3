
      export type PossibleTypesResultData = {
  "possibleTypes": {
    "CreateApiKeyResult": [
      "ConflictError",
      "CreateApiKeyPayload",
      "NotFoundError",
      "ValidationError"
    ],
    "CreateEndpointResult": [
      "ConflictError",
      "CreateEndpointPayload",
      "NotFoundError",
      "ValidationError"
    ],
    "CreateEventTypeResult": [
      "ConflictError",
      "CreateEventTypePayload",
      "NotFoundError",
      "ValidationError"
    ],
    "CreateTenantResult": [
      "ConflictError",
      "CreateTenantPayload",
      "NotFoundError",
      "ValidationError"
    ],
    "DeleteEndpointResult": [
      "ConflictError",
      "DeleteEndpointPayload",
      "NotFoundError",
      "ValidationError"
    ],
    "Error": [
      "ConflictError",
      "NotFoundError",
      "ValidationError"
    ],
    "PublishEventResult": [
      "ConflictError",
      "NotFoundError",
      "PublishEventPayload",
      "ValidationError"
    ],
    "PublishEventsResult": [
      "ConflictError",
      "NotFoundError",
      "PublishEventsPayload",
      "ValidationError"
    ],
    "RecoverEndpointResult": [
      "ConflictError",
      "NotFoundError",
      "RecoverEndpointPayload",
      "ValidationError"
    ],
    "ReplayDeliveryResult": [
      "ConflictError",
      "NotFoundError",
      "ReplayDeliveryPayload",
      "ValidationError"
    ],
    "RevokeApiKeyResult": [
      "ConflictError",
      "NotFoundError",
      "RevokeApiKeyPayload",
      "ValidationError"
    ],
    "RotateEndpointSecretResult": [
      "ConflictError",
      "NotFoundError",
      "RotateEndpointSecretPayload",
      "ValidationError"
    ],
    "TestEndpointResult": [
      "ConflictError",
      "NotFoundError",
      "TestEndpointPayload",
      "ValidationError"
    ],
    "UpdateEndpointResult": [
      "ConflictError",
      "NotFoundError",
      "UpdateEndpointPayload",
      "ValidationError"
    ],
    "UpdateEventTypeResult": [
      "ConflictError",
      "NotFoundError",
      "UpdateEventTypePayload",
      "ValidationError"
    ],
    "UpdateTenantDeliveryProfileResult": [
      "ConflictError",
      "NotFoundError",
      "UpdateTenantDeliveryProfilePayload",
      "ValidationError"
    ],
    "UpsertEndpointResult": [
      "ConflictError",
      "NotFoundError",
      "UpsertEndpointPayload",
      "ValidationError"
    ]
  }
};
      const result: PossibleTypesResultData = {
  "possibleTypes": {
    "CreateApiKeyResult": [
      "ConflictError",
      "CreateApiKeyPayload",
      "NotFoundError",
      "ValidationError"
    ],
    "CreateEndpointResult": [
      "ConflictError",
      "CreateEndpointPayload",
      "NotFoundError",
      "ValidationError"
    ],
    "CreateEventTypeResult": [
      "ConflictError",
      "CreateEventTypePayload",
      "NotFoundError",
      "ValidationError"
    ],
    "CreateTenantResult": [
      "ConflictError",
      "CreateTenantPayload",
      "NotFoundError",
      "ValidationError"
    ],
    "DeleteEndpointResult": [
      "ConflictError",
      "DeleteEndpointPayload",
      "NotFoundError",
      "ValidationError"
    ],
    "Error": [
      "ConflictError",
      "NotFoundError",
      "ValidationError"
    ],
    "PublishEventResult": [
      "ConflictError",
      "NotFoundError",
      "PublishEventPayload",
      "ValidationError"
    ],
    "PublishEventsResult": [
      "ConflictError",
      "NotFoundError",
      "PublishEventsPayload",
      "ValidationError"
    ],
    "RecoverEndpointResult": [
      "ConflictError",
      "NotFoundError",
      "RecoverEndpointPayload",
      "ValidationError"
    ],
    "ReplayDeliveryResult": [
      "ConflictError",
      "NotFoundError",
      "ReplayDeliveryPayload",
      "ValidationError"
    ],
    "RevokeApiKeyResult": [
      "ConflictError",
      "NotFoundError",
      "RevokeApiKeyPayload",
      "ValidationError"
    ],
    "RotateEndpointSecretResult": [
      "ConflictError",
      "NotFoundError",
      "RotateEndpointSecretPayload",
      "ValidationError"
    ],
    "TestEndpointResult": [
      "ConflictError",
      "NotFoundError",
      "TestEndpointPayload",
      "ValidationError"
    ],
    "UpdateEndpointResult": [
      "ConflictError",
      "NotFoundError",
      "UpdateEndpointPayload",
      "ValidationError"
    ],
    "UpdateEventTypeResult": [
      "ConflictError",
      "NotFoundError",
      "UpdateEventTypePayload",
      "ValidationError"
    ],
    "UpdateTenantDeliveryProfileResult": [
      "ConflictError",
      "NotFoundError",
      "UpdateTenantDeliveryProfilePayload",
      "ValidationError"
    ],
    "UpsertEndpointResult": [
      "ConflictError",
      "NotFoundError",
      "UpsertEndpointPayload",
      "ValidationError"
    ]
  }
};
      export default result;
    