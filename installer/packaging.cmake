# CPack: `cpack -G DEB` in the build folder makes the Debian package.
set(CPACK_PACKAGE_NAME "airlock")
set(CPACK_PACKAGE_VENDOR "Airlock")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Endpoint agent for AI traffic: loopback proxy with policy, routing and usage accounting")
set(CPACK_PACKAGE_CONTACT "airlock@localhost")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
include(CPack)
