using System.Net;
using Dapr.DurableTask.Protobuf;
using DurableTask.Core;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.ClientFactory;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.DurableTask.Testing.Sidecar;
using Microsoft.DurableTask.Testing.Sidecar.Grpc;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Platform.DaprSidecar.Testing;

/// <summary>
/// A workflow engine sidecar for Dapr.Workflow's worker without daprd: the in-memory DurableTask sidecar of
/// Microsoft.DurableTask.InProcessTestHost (<c>TaskHubGrpcServer</c> over <c>InMemoryOrchestrationService</c>) hosted on
/// Kestrel (HTTP/2, a free loopback port). It is hosted here rather than through the package's own test host, which starts
/// a worker of its own while the sidecar serves one work-item stream. Nothing is persisted.
/// </summary>
public sealed class InMemoryWorkflowSidecar : IAsyncDisposable
{
    private readonly WebApplication _app;

    private InMemoryWorkflowSidecar(WebApplication app, string address) => (_app, Address) = (app, address);

    /// <summary>The sidecar's gRPC endpoint, e.g. <c>http://127.0.0.1:41234</c>.</summary>
    public string Address { get; }

    public static async Task<InMemoryWorkflowSidecar> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders().AddSimpleConsole().SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, o => o.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(sp => new InMemoryOrchestrationService(sp.GetRequiredService<ILoggerFactory>()));
        builder.Services.AddSingleton<IOrchestrationService>(sp => sp.GetRequiredService<InMemoryOrchestrationService>());
        builder.Services.AddSingleton<IOrchestrationServiceClient>(sp => sp.GetRequiredService<InMemoryOrchestrationService>());
        builder.Services.AddSingleton<TaskHubGrpcServer>();
        var app = builder.Build();
        app.MapGrpcService<TaskHubGrpcServer>();
        await app.StartAsync();
        return new InMemoryWorkflowSidecar(app, app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First());
    }

    /// <summary>
    /// Points the Dapr workflow worker and client that <paramref name="worker"/> registers (<c>AddDaprWorkflow</c>) at this
    /// sidecar (<c>DAPR_GRPC_ENDPOINT</c>), with the interceptor that makes the two protocols agree.
    /// </summary>
    public void Attach(HostApplicationBuilder worker)
    {
        worker.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["DAPR_GRPC_ENDPOINT"] = Address });
        Attach(worker.Services);
    }

    /// <summary>
    /// Points only the workflow gRPC client of <c>AddDaprWorkflow</c> at this sidecar, with the interceptor, leaving
    /// <c>DAPR_GRPC_ENDPOINT</c> to another sidecar: an app whose state and pub/sub go to the faithful sidecar and whose
    /// workflows run here, as one daprd serves both APIs in production.
    /// </summary>
    public void Attach(IServiceCollection services)
    {
        var clientType = typeof(TaskHubSidecarService.TaskHubSidecarServiceClient);
        foreach (var name in new[] { clientType.Name, clientType.FullName! })
        {
            services.PostConfigure<GrpcClientFactoryOptions>(name, o =>
            {
                o.Address = new Uri(Address);
                o.InterceptorRegistrations.Add(new InterceptorRegistration(InterceptorScope.Client, _ => new ProtocolFieldsInterceptor()));
            });
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync(TimeSpan.FromSeconds(5));
        await _app.DisposeAsync();
    }

    /// <summary>
    /// Clears the two fields where Dapr's protos and Microsoft's disagree before the sidecar parses the worker's response:
    /// field 5 of a schedule-task action (Dapr's <c>taskExecutionId</c>, a string, where Microsoft has a trace context
    /// message) and field 6 of the response (Dapr's patch record, the same clash). Without it instances stay Pending. The
    /// sidecar then keeps no patches, so <c>IsPatched</c> is only meaningful within an instance's first turn on this engine.
    /// </summary>
    private sealed class ProtocolFieldsInterceptor : Interceptor
    {
        public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(TRequest request,
            ClientInterceptorContext<TRequest, TResponse> context, AsyncUnaryCallContinuation<TRequest, TResponse> continuation)
        {
            if (request is WorkflowResponse response)
            {
                response.Version = null;
                foreach (var action in response.Actions)
                {
                    if (action.ScheduleTask is { } schedule) schedule.TaskExecutionId = "";
                }
            }
            return continuation(request, context);
        }
    }
}
