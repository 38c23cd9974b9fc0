using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Dapr.Client.Autogen.Grpc.v1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.AspNetCore.Server.Model;
using Grpc.Core;

namespace Platform.DaprSidecar.Testing;

/// <summary>
/// The part of <c>dapr.proto.runtime.v1.Dapr</c> the platform's adapter calls, bound by hand: Dapr.Protos ships the
/// messages and a client stub but no server base, so each method is a <see cref="Method{TRequest,TResponse}"/> built from
/// the messages' parsers and bound to the virtual instance method of the same name (Grpc.AspNetCore binds only
/// virtual methods declared on the type named in <see cref="BindServiceMethodAttribute"/>). Requests carrying fields or metadata this
/// sidecar does not understand are violations.
/// </summary>
[BindServiceMethod(typeof(DaprGrpcApi), nameof(BindService))]
public class DaprGrpcApi(FaithfulSidecar sidecar)
{
    public const string ServiceName = "dapr.proto.runtime.v1.Dapr";

    private static readonly string[] Names =
        ["GetState", "GetBulkState", "SaveState", "DeleteState", "ExecuteStateTransaction", "PublishEvent", "BulkPublishEvent", "GetSecret",
            "GetMetadata"];

    public static readonly IReadOnlySet<string> MethodPaths = Names.Select(n => $"/{ServiceName}/{n}").ToHashSet(StringComparer.Ordinal);

    private static readonly string[] PublishMetadata =
        ["cloudevent.id", "cloudevent.type", "cloudevent.source", "cloudevent.traceparent", "cloudevent.tracestate", "partitionKey"];

    private static readonly string[] ItemMetadata = ["ttlInSeconds", "contentType"];

    private static Method<TRequest, TResponse> Unary<TRequest, TResponse>(string name, MessageParser<TRequest> request, MessageParser<TResponse> response)
        where TRequest : class, IMessage<TRequest> where TResponse : class, IMessage<TResponse> =>
        new(MethodType.Unary, ServiceName, name,
            Marshallers.Create(m => m.ToByteArray(), request.ParseFrom),
            Marshallers.Create(m => m.ToByteArray(), response.ParseFrom));

    public static void BindService(ServiceBinderBase binder, DaprGrpcApi? service)
    {
        binder.AddMethod(Unary("GetState", GetStateRequest.Parser, GetStateResponse.Parser), (UnaryServerMethod<GetStateRequest, GetStateResponse>?)null);
        binder.AddMethod(Unary("GetBulkState", GetBulkStateRequest.Parser, GetBulkStateResponse.Parser),
            (UnaryServerMethod<GetBulkStateRequest, GetBulkStateResponse>?)null);
        binder.AddMethod(Unary("SaveState", SaveStateRequest.Parser, Empty.Parser), (UnaryServerMethod<SaveStateRequest, Empty>?)null);
        binder.AddMethod(Unary("DeleteState", DeleteStateRequest.Parser, Empty.Parser), (UnaryServerMethod<DeleteStateRequest, Empty>?)null);
        binder.AddMethod(Unary("ExecuteStateTransaction", ExecuteStateTransactionRequest.Parser, Empty.Parser),
            (UnaryServerMethod<ExecuteStateTransactionRequest, Empty>?)null);
        binder.AddMethod(Unary("PublishEvent", PublishEventRequest.Parser, Empty.Parser), (UnaryServerMethod<PublishEventRequest, Empty>?)null);
        binder.AddMethod(Unary("BulkPublishEvent", BulkPublishRequest.Parser, BulkPublishResponse.Parser),
            (UnaryServerMethod<BulkPublishRequest, BulkPublishResponse>?)null);
        binder.AddMethod(Unary("GetSecret", GetSecretRequest.Parser, GetSecretResponse.Parser), (UnaryServerMethod<GetSecretRequest, GetSecretResponse>?)null);
        binder.AddMethod(Unary("GetMetadata", GetMetadataRequest.Parser, GetMetadataResponse.Parser),
            (UnaryServerMethod<GetMetadataRequest, GetMetadataResponse>?)null);
    }

    private SidecarCluster Cluster => sidecar.Cluster;
    private SidecarStateStore State => Cluster.State;

    private void Understood(string method, IEnumerable<string> keys, IReadOnlyCollection<string> known)
    {
        foreach (var key in keys)
            if (!known.Contains(key)) Cluster.Violation($"{sidecar.AppId}: {method} with metadata '{key}', which this sidecar does not understand");
    }

    public virtual Task<GetStateResponse> GetState(GetStateRequest request, ServerCallContext context)
    {
        Understood("GetState", request.Metadata.Keys, []);
        var (value, etag) = State.Get(State.StoreKey(request.StoreName, sidecar.AppId, request.Key));
        return Task.FromResult(new GetStateResponse { Data = value is null ? ByteString.Empty : ByteString.CopyFrom(value), Etag = etag });
    }

    public virtual Task<GetBulkStateResponse> GetBulkState(GetBulkStateRequest request, ServerCallContext context)
    {
        Understood("GetBulkState", request.Metadata.Keys, []);
        var response = new GetBulkStateResponse();
        foreach (var key in request.Keys)
        {
            if (Cluster.Options.BulkGetFailures.Contains(key))
            {
                response.Items.Add(new BulkStateItem { Key = key, Error = "failed to read key " + key + ": connection reset" });
                continue;
            }
            var (value, etag) = State.Get(State.StoreKey(request.StoreName, sidecar.AppId, key));
            response.Items.Add(new BulkStateItem { Key = key, Data = value is null ? ByteString.Empty : ByteString.CopyFrom(value), Etag = etag });
        }
        return Task.FromResult(response);
    }

    public virtual Task<Empty> SaveState(SaveStateRequest request, ServerCallContext context)
    {
        var writes = new List<SidecarStateStore.Write>();
        foreach (var item in request.States)
        {
            Understood("SaveState", item.Metadata.Keys, ItemMetadata);
            writes.Add(new(State.StoreKey(request.StoreName, sidecar.AppId, item.Key), item.Value.ToByteArray(), item.Etag?.Value, item.Key));
        }
        State.Apply(writes, transaction: false);
        return Task.FromResult(new Empty());
    }

    public virtual Task<Empty> DeleteState(DeleteStateRequest request, ServerCallContext context)
    {
        Understood("DeleteState", request.Metadata.Keys, []);
        State.Apply([new(State.StoreKey(request.StoreName, sidecar.AppId, request.Key), null, request.Etag?.Value, request.Key)], transaction: false);
        return Task.FromResult(new Empty());
    }

    public virtual Task<Empty> ExecuteStateTransaction(ExecuteStateTransactionRequest request, ServerCallContext context)
    {
        Understood("ExecuteStateTransaction", request.Metadata.Keys, []);
        var writes = new List<SidecarStateStore.Write>();
        foreach (var operation in request.Operations)
        {
            Understood("ExecuteStateTransaction", operation.Request.Metadata.Keys, ItemMetadata);
            var key = State.StoreKey(request.StoreName, sidecar.AppId, operation.Request.Key);
            switch (operation.OperationType)
            {
                case "upsert":
                    writes.Add(new(key, operation.Request.Value.ToByteArray(), operation.Request.Etag?.Value, operation.Request.Key));
                    break;
                case "delete":
                    writes.Add(new(key, null, operation.Request.Etag?.Value, operation.Request.Key));
                    break;
                default:
                    Cluster.Violation($"{sidecar.AppId}: transaction operation '{operation.OperationType}' is not upsert or delete");
                    throw SidecarStateStore.Fail(StatusCode.InvalidArgument, $"operation type {operation.OperationType} not supported");
            }
        }
        State.Apply(writes, transaction: true);
        return Task.FromResult(new Empty());
    }

    /// <summary>Each entry becomes its own envelope, as a single publish with the entry's metadata would; all or nothing here.</summary>
    public virtual Task<BulkPublishResponse> BulkPublishEvent(BulkPublishRequest request, ServerCallContext context)
    {
        Understood("BulkPublishEvent", request.Metadata.Keys, []);
        var messages = new List<BrokerMessage>();
        foreach (var entry in request.Entries)
        {
            var single = new PublishEventRequest
            {
                PubsubName = request.PubsubName, Topic = request.Topic, Data = entry.Event, DataContentType = entry.ContentType,
            };
            single.Metadata.Add(entry.Metadata);
            messages.Add(Envelope("BulkPublishEvent", single, context));
        }
        foreach (var message in messages) Cluster.Broker.Publish(message);
        return Task.FromResult(new BulkPublishResponse());
    }

    public virtual Task<Empty> PublishEvent(PublishEventRequest request, ServerCallContext context)
    {
        Cluster.Broker.Publish(Envelope("PublishEvent", request, context));
        return Task.FromResult(new Empty());
    }

    private BrokerMessage Envelope(string method, PublishEventRequest request, ServerCallContext context)
    {
        Understood(method, request.Metadata.Keys, PublishMetadata);
        if (Cluster.Component(request.PubsubName)?.Type.StartsWith("pubsub.", StringComparison.Ordinal) != true)
            throw SidecarStateStore.Fail(StatusCode.InvalidArgument, $"pubsub {request.PubsubName} is not found");
        if (string.IsNullOrEmpty(request.Topic)) throw SidecarStateStore.Fail(StatusCode.InvalidArgument, "topic is empty in pubsub " + request.PubsubName);
        if (request.DataContentType != "application/json")
        {
            Cluster.Violation($"{sidecar.AppId}: {method} with data content type '{request.DataContentType}' (the platform publishes JSON only)");
            throw SidecarStateStore.Fail(StatusCode.InvalidArgument, "unexpected content type " + request.DataContentType);
        }
        JsonNode? data;
        try
        {
            data = JsonNode.Parse(request.Data.Span);
        }
        catch (JsonException ex)
        {
            throw SidecarStateStore.Fail(StatusCode.InvalidArgument, "data is not JSON: " + ex.Message);
        }
        string? Meta(string key) => request.Metadata.TryGetValue(key, out var v) && v.Length > 0 ? v : null;
        var traceparent = Meta("cloudevent.traceparent") ?? context.RequestHeaders.GetValue("traceparent") ?? NewTraceparent();
        var envelope = new JsonObject
        {
            ["id"] = Meta("cloudevent.id") ?? Guid.NewGuid().ToString(),
            ["source"] = Meta("cloudevent.source") ?? sidecar.AppId,
            ["type"] = Meta("cloudevent.type") ?? "com.dapr.event.sent",
            ["specversion"] = "1.0",
            ["datacontenttype"] = request.DataContentType,
            ["data"] = data,
            ["topic"] = request.Topic,
            ["pubsubname"] = request.PubsubName,
            ["traceparent"] = traceparent,
            ["traceid"] = traceparent,
            ["tracestate"] = Meta("cloudevent.tracestate") ?? "",
            ["time"] = DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ", CultureInfo.InvariantCulture),
        };
        return new BrokerMessage(request.PubsubName, request.Topic, envelope, request.Metadata.ToDictionary());
    }

    private static string NewTraceparent() =>
        $"00-{Convert.ToHexStringLower(Guid.NewGuid().ToByteArray())}-{Convert.ToHexStringLower(Guid.NewGuid().ToByteArray()[..8])}-01";

    public virtual Task<GetSecretResponse> GetSecret(GetSecretRequest request, ServerCallContext context)
    {
        Understood("GetSecret", request.Metadata.Keys, []);
        if (Cluster.Component(request.StoreName)?.Type.StartsWith("secretstores.", StringComparison.Ordinal) != true)
            throw SidecarStateStore.Fail(StatusCode.InvalidArgument, $"failed finding secret store with key {request.StoreName}");
        // secretstores.local.file fails a missing key rather than answering an empty map.
        if (!Cluster.Options.Secrets.TryGetValue(request.Key, out var value))
            throw SidecarStateStore.Fail(StatusCode.Internal,
                $"failed getting secret with key {request.Key} from secret store {request.StoreName}: secret not found");
        var response = new GetSecretResponse();
        response.Data.Add(request.Key, value);
        return Task.FromResult(response);
    }

    public virtual Task<GetMetadataResponse> GetMetadata(GetMetadataRequest request, ServerCallContext context)
    {
        var response = new GetMetadataResponse { Id = sidecar.AppId, RuntimeVersion = "1.16.0" };
        foreach (var c in Cluster.Options.Components)
        {
            var version = c.Type.StartsWith("state.", StringComparison.Ordinal) ? "v2" : "v1";
            var registered = new RegisteredComponents { Name = c.Name, Type = c.Type, Version = version };
            registered.Capabilities.AddRange(c.Capabilities);
            response.RegisteredComponents.Add(registered);
        }
        return Task.FromResult(response);
    }
}
