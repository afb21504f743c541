#Requires -Version 5.1
#requires -modules Az.Accounts,@{ModuleName='Az.Storage';RequiredVersion='6.1.0'}, "Microsoft.Graph.Users"
# .SYNOPSIS
#   Export licence usage to a storage account.
# .DESCRIPTION
#   Collects licence usage per SKU and writes a CSV.
#   Runs nightly.
# .PARAMETER containerName
#   Blob container that receives the CSV.
# .EXAMPLE
#   org_general_line-help.ps1 -containerName reports

[CmdletBinding(SupportsShouldProcess = $true, ConfirmImpact = 'High')]
[Diagnostics.CodeAnalysis.SuppressMessageAttribute('PSAvoidUsingPlainTextForPassword', '')]
PARAM
(
    [parameter(mandatory)] [string] $containerName,
    [PARAMETER(Mandatory = 1)][ValidateRange(1, [int]::MaxValue)][int]$MaxRows = 50000,
    [Parameter(Mandatory = $false)][switch] $DryRun,
    <# Where the CSV is written
       before upload. #>
    [string] $TempPath = $env:TEMP,
    [ValidateSet('csv', 'json')] $Format = 'csv',
    [string[]] $Skus = @(
        "ENTERPRISEPACK"   # E3
        "SPE_E5"
    ),
    $Untyped
)
