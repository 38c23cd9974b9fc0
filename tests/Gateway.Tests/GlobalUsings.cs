// Namespaces most files of this suite use.
global using Microsoft.Extensions.DependencyInjection;
global using Platform.Contracts;
