using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;

namespace Platform.TestSupport;

/// <summary>Where a started test app listens when it was bound to port 0.</summary>
public static class WebApplicationAddresses
{
    /// <summary>The addresses Kestrel bound, in the order the listeners were configured.</summary>
    public static IReadOnlyList<string> Addresses(this WebApplication app) =>
        [.. app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses];

    /// <summary>The first bound address, e.g. <c>http://127.0.0.1:41234</c>.</summary>
    public static string Address(this WebApplication app) => app.Addresses()[0];
}
