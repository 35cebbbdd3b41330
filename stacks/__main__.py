"""The wanka Pulumi program: the stack named by the configuration (wanka:cluster, wanka:phase,
wanka:pod). Everything happens in wanka.pulumi.stack, which the tests run under mocks."""

from wanka.pulumi.stack import main

main()
