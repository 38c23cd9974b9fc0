// The namespaces nearly every suite here uses: the ports, the contracts, the semantics suites and the faithful sidecar.
global using Platform.BuildingBlocks.PubSub;
global using Platform.BuildingBlocks.State;
global using Platform.BuildingBlocks.Tests.Semantics;
global using Platform.Contracts;
global using Platform.DaprSidecar.Testing;
global using System.Diagnostics;
global using Microsoft.Extensions.DependencyInjection;
