import type { DocumentNode } from 'graphql';
import * as Operations from './graphql.js';



























export type Requester<C = {}> = <R, V>(doc: DocumentNode, vars?: V, options?: C) => Promise<R> | AsyncIterable<R>
export function getSdk<C>(requester: Requester<C>) {
  return {
    PublishEvent(variables: Operations.PublishEventMutationVariables, options?: C): Promise<Operations.PublishEventMutation> {
      return requester<Operations.PublishEventMutation, Operations.PublishEventMutationVariables>(Operations.PublishEventDocument, variables, options) as Promise<Operations.PublishEventMutation>;
    },
    TestEndpoint(variables: Operations.TestEndpointMutationVariables, options?: C): Promise<Operations.TestEndpointMutation> {
      return requester<Operations.TestEndpointMutation, Operations.TestEndpointMutationVariables>(Operations.TestEndpointDocument, variables, options) as Promise<Operations.TestEndpointMutation>;
    },
    ReplayDelivery(variables: Operations.ReplayDeliveryMutationVariables, options?: C): Promise<Operations.ReplayDeliveryMutation> {
      return requester<Operations.ReplayDeliveryMutation, Operations.ReplayDeliveryMutationVariables>(Operations.ReplayDeliveryDocument, variables, options) as Promise<Operations.ReplayDeliveryMutation>;
    },
    RecoverEndpoint(variables: Operations.RecoverEndpointMutationVariables, options?: C): Promise<Operations.RecoverEndpointMutation> {
      return requester<Operations.RecoverEndpointMutation, Operations.RecoverEndpointMutationVariables>(Operations.RecoverEndpointDocument, variables, options) as Promise<Operations.RecoverEndpointMutation>;
    },
    Event(variables: Operations.EventQueryVariables, options?: C): Promise<Operations.EventQuery> {
      return requester<Operations.EventQuery, Operations.EventQueryVariables>(Operations.EventDocument, variables, options) as Promise<Operations.EventQuery>;
    },
    Events(variables?: Operations.EventsQueryVariables, options?: C): Promise<Operations.EventsQuery> {
      return requester<Operations.EventsQuery, Operations.EventsQueryVariables>(Operations.EventsDocument, variables, options) as Promise<Operations.EventsQuery>;
    },
    Delivery(variables: Operations.DeliveryQueryVariables, options?: C): Promise<Operations.DeliveryQuery> {
      return requester<Operations.DeliveryQuery, Operations.DeliveryQueryVariables>(Operations.DeliveryDocument, variables, options) as Promise<Operations.DeliveryQuery>;
    },
    Deliveries(variables?: Operations.DeliveriesQueryVariables, options?: C): Promise<Operations.DeliveriesQuery> {
      return requester<Operations.DeliveriesQuery, Operations.DeliveriesQueryVariables>(Operations.DeliveriesDocument, variables, options) as Promise<Operations.DeliveriesQuery>;
    },
    Attempts(variables?: Operations.AttemptsQueryVariables, options?: C): Promise<Operations.AttemptsQuery> {
      return requester<Operations.AttemptsQuery, Operations.AttemptsQueryVariables>(Operations.AttemptsDocument, variables, options) as Promise<Operations.AttemptsQuery>;
    },
    DeliveryUpdated(variables?: Operations.DeliveryUpdatedSubscriptionVariables, options?: C): AsyncIterable<Operations.DeliveryUpdatedSubscription> {
      return requester<Operations.DeliveryUpdatedSubscription, Operations.DeliveryUpdatedSubscriptionVariables>(Operations.DeliveryUpdatedDocument, variables, options) as AsyncIterable<Operations.DeliveryUpdatedSubscription>;
    },
    Endpoint(variables?: Operations.EndpointQueryVariables, options?: C): Promise<Operations.EndpointQuery> {
      return requester<Operations.EndpointQuery, Operations.EndpointQueryVariables>(Operations.EndpointDocument, variables, options) as Promise<Operations.EndpointQuery>;
    },
    Endpoints(variables?: Operations.EndpointsQueryVariables, options?: C): Promise<Operations.EndpointsQuery> {
      return requester<Operations.EndpointsQuery, Operations.EndpointsQueryVariables>(Operations.EndpointsDocument, variables, options) as Promise<Operations.EndpointsQuery>;
    },
    CreateEndpoint(variables: Operations.CreateEndpointMutationVariables, options?: C): Promise<Operations.CreateEndpointMutation> {
      return requester<Operations.CreateEndpointMutation, Operations.CreateEndpointMutationVariables>(Operations.CreateEndpointDocument, variables, options) as Promise<Operations.CreateEndpointMutation>;
    },
    UpsertEndpoint(variables: Operations.UpsertEndpointMutationVariables, options?: C): Promise<Operations.UpsertEndpointMutation> {
      return requester<Operations.UpsertEndpointMutation, Operations.UpsertEndpointMutationVariables>(Operations.UpsertEndpointDocument, variables, options) as Promise<Operations.UpsertEndpointMutation>;
    },
    UpdateEndpoint(variables: Operations.UpdateEndpointMutationVariables, options?: C): Promise<Operations.UpdateEndpointMutation> {
      return requester<Operations.UpdateEndpointMutation, Operations.UpdateEndpointMutationVariables>(Operations.UpdateEndpointDocument, variables, options) as Promise<Operations.UpdateEndpointMutation>;
    },
    DeleteEndpoint(variables?: Operations.DeleteEndpointMutationVariables, options?: C): Promise<Operations.DeleteEndpointMutation> {
      return requester<Operations.DeleteEndpointMutation, Operations.DeleteEndpointMutationVariables>(Operations.DeleteEndpointDocument, variables, options) as Promise<Operations.DeleteEndpointMutation>;
    },
    RotateEndpointSecret(variables?: Operations.RotateEndpointSecretMutationVariables, options?: C): Promise<Operations.RotateEndpointSecretMutation> {
      return requester<Operations.RotateEndpointSecretMutation, Operations.RotateEndpointSecretMutationVariables>(Operations.RotateEndpointSecretDocument, variables, options) as Promise<Operations.RotateEndpointSecretMutation>;
    },
    EventTypes(variables?: Operations.EventTypesQueryVariables, options?: C): Promise<Operations.EventTypesQuery> {
      return requester<Operations.EventTypesQuery, Operations.EventTypesQueryVariables>(Operations.EventTypesDocument, variables, options) as Promise<Operations.EventTypesQuery>;
    },
    CreateEventType(variables: Operations.CreateEventTypeMutationVariables, options?: C): Promise<Operations.CreateEventTypeMutation> {
      return requester<Operations.CreateEventTypeMutation, Operations.CreateEventTypeMutationVariables>(Operations.CreateEventTypeDocument, variables, options) as Promise<Operations.CreateEventTypeMutation>;
    },
    UpdateEventType(variables: Operations.UpdateEventTypeMutationVariables, options?: C): Promise<Operations.UpdateEventTypeMutation> {
      return requester<Operations.UpdateEventTypeMutation, Operations.UpdateEventTypeMutationVariables>(Operations.UpdateEventTypeDocument, variables, options) as Promise<Operations.UpdateEventTypeMutation>;
    },
    Viewer(variables?: Operations.ViewerQueryVariables, options?: C): Promise<Operations.ViewerQuery> {
      return requester<Operations.ViewerQuery, Operations.ViewerQueryVariables>(Operations.ViewerDocument, variables, options) as Promise<Operations.ViewerQuery>;
    },
    CreateTenant(variables: Operations.CreateTenantMutationVariables, options?: C): Promise<Operations.CreateTenantMutation> {
      return requester<Operations.CreateTenantMutation, Operations.CreateTenantMutationVariables>(Operations.CreateTenantDocument, variables, options) as Promise<Operations.CreateTenantMutation>;
    },
    CreateApiKey(variables: Operations.CreateApiKeyMutationVariables, options?: C): Promise<Operations.CreateApiKeyMutation> {
      return requester<Operations.CreateApiKeyMutation, Operations.CreateApiKeyMutationVariables>(Operations.CreateApiKeyDocument, variables, options) as Promise<Operations.CreateApiKeyMutation>;
    },
    RevokeApiKey(variables: Operations.RevokeApiKeyMutationVariables, options?: C): Promise<Operations.RevokeApiKeyMutation> {
      return requester<Operations.RevokeApiKeyMutation, Operations.RevokeApiKeyMutationVariables>(Operations.RevokeApiKeyDocument, variables, options) as Promise<Operations.RevokeApiKeyMutation>;
    },
    Tenants(variables?: Operations.TenantsQueryVariables, options?: C): Promise<Operations.TenantsQuery> {
      return requester<Operations.TenantsQuery, Operations.TenantsQueryVariables>(Operations.TenantsDocument, variables, options) as Promise<Operations.TenantsQuery>;
    },
    ApiKeys(variables?: Operations.ApiKeysQueryVariables, options?: C): Promise<Operations.ApiKeysQuery> {
      return requester<Operations.ApiKeysQuery, Operations.ApiKeysQueryVariables>(Operations.ApiKeysDocument, variables, options) as Promise<Operations.ApiKeysQuery>;
    }
  };
}
export type Sdk = ReturnType<typeof getSdk>;